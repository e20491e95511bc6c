#include "bench/sampling_speed.h"

#include "bench/interleaved.h"
#include "ir/status_macros.h"
#include "runtime/jit_backend.h"
#include "runtime/sampler.h"

namespace gptc {

absl::StatusOr<std::vector<SamplingSpeed>> MeasureSamplingSpeed(const Model& cfg,
                                                                const codegen::CompilerOptions& co,
                                                                int repeats) {
  using Step = JitBackend::Step;
  ASSIGN_OR_RETURN(
      std::unique_ptr<JitBackend> jit,
      JitBackend::Create(cfg, 1, {}, co, {Step::kSample, Step::kPrefill, Step::kDecode}));
  std::string alphabet;
  for (int i = 0; i < cfg.vocab; ++i) alphabet.push_back(static_cast<char>(i));
  ASSIGN_OR_RETURN(std::unique_ptr<TextTokenizer> tok,
                   MakeTokenizer(kCharTokenizer, {alphabet, ""}));
  std::vector<SamplingSpeed> out;
  for (int64_t blocks : {1, 3}) {
    const int64_t tokens = blocks * cfg.block_size - (blocks == 1 ? 1 : 0);
    std::string text[2];
    ASSIGN_OR_RETURN(std::vector<double> s,
                     InterleavedMedians(2, 1, repeats, [&](int k, int) -> absl::Status {
                       SampleOptions o;
                       o.prompt = alphabet.substr(0, 1);
                       o.max_new_tokens = tokens;
                       o.seed = 1;
                       o.kv_cache = k == 0;
                       ASSIGN_OR_RETURN(text[k], SampleText(*jit, *tok, cfg.block_size, o));
                       return absl::OkStatus();
                     }));
    if (text[0] != text[1])
      return absl::InternalError("the two sampling paths drew different text");
    out.push_back({tokens, s[0], s[1]});
  }
  return out;
}

}  // namespace gptc
