#include "tools/bench_sampling.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "absl/strings/str_format.h"
#include "runtime/jit_backend.h"
#include "runtime/sampler.h"
#include "tools/model_flags.h"

namespace gptc::tools {
namespace {

// Median seconds of `repeats` samples of `tokens` tokens from a one-character prompt, the two
// paths alternating so that load on the machine hits both alike.
absl::Status TimeBoth(JitBackend& jit, const CharTokenizer& tok, int64_t block, int64_t tokens,
                      int64_t repeats, double seconds[2]) {
  std::vector<double> times[2];
  std::string text[2];
  for (int64_t r = 0; r < repeats + 1; ++r)
    for (int k = 0; k < 2; ++k) {
      SampleOptions o;
      o.prompt = tok.alphabet().substr(0, 1);
      o.max_new_tokens = tokens;
      o.seed = 1;
      o.kv_cache = k == 0;
      const auto start = std::chrono::steady_clock::now();
      auto t = SampleText(jit, tok, block, o);
      if (!t.ok()) return t.status();
      if (r > 0)
        times[k].push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      text[k] = *t;
    }
  if (text[0] != text[1]) return absl::InternalError("the two sampling paths drew different text");
  for (int k = 0; k < 2; ++k) {
    std::sort(times[k].begin(), times[k].end());
    seconds[k] = times[k][times[k].size() / 2];
  }
  return absl::OkStatus();
}

}  // namespace

int RunSamplingBench(const GptConfig& cfg, const codegen::CompilerOptions& co, int64_t repeats) {
  using Step = JitBackend::Step;
  auto jit = JitBackend::Create(cfg, 1, {}, co, {Step::kSample, Step::kPrefill, Step::kDecode});
  if (!jit.ok()) return Fail(jit.status());
  std::string alphabet;
  for (int i = 0; i < cfg.vocab; ++i) alphabet.push_back(static_cast<char>(i));
  auto tok = CharTokenizer::FromText(alphabet);
  if (!tok.ok()) return Fail(tok.status());
  // Within the block every token after the first is one decode call; past it (3 blocks) each
  // token refills the cropped window, so the cache helps only the first block.
  for (int64_t blocks : {1, 3}) {
    const int64_t tokens = blocks * cfg.block_size - (blocks == 1 ? 1 : 0);
    double s[2];
    if (auto st = TimeBoth(**jit, *tok, cfg.block_size, tokens, repeats, s); !st.ok())
      return Fail(st);
    std::cout << absl::StrFormat(
        "sampling (%s, %d tokens, 1-token prompt): KV cache %.0f tokens/s | recompute %.0f "
        "tokens/s | %.2fx\n",
        cfg.name, tokens, tokens / s[0], tokens / s[1], s[1] / s[0]);
  }
  return 0;
}

}  // namespace gptc::tools
