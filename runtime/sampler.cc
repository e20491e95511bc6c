#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/rng.h"
#include "ir/status_macros.h"

namespace gptc {
namespace {

// The next-token logits after `ids`. With the cache, the tokens before the last one are
// already in it when `first` is false and the text still fits the block.
absl::StatusOr<std::vector<float>> NextLogits(Backend& backend, const std::vector<int32_t>& ids,
                                              int64_t block_size, bool kv_cache, bool first) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (kv_cache && !first && n <= block_size) return backend.Decode(ids.back(), n - 1);
  const int64_t len = std::min(n, block_size);
  ir::Literal window(ir::I32({1, block_size}));  // context first; the rest is ignored
  for (int64_t t = 0; t < len; ++t) window.data[t] = ids[n - len + t];
  return kv_cache ? backend.Prefill(window, len - 1) : backend.NextTokenLogits(window, len - 1);
}

}  // namespace

size_t CompleteUtf8Prefix(const std::string& bytes) {
  const size_t n = bytes.size();
  // The last lead byte within the last three bytes, and whether its character is complete.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = (c & 0xE0) == 0xC0   ? 2
                        : (c & 0xF0) == 0xE0 ? 3
                        : (c & 0xF8) == 0xF0 ? 4
                                             : 1;
    return need > back ? n - back : n;
  }
  return n;
}

absl::StatusOr<std::string> SampleText(Backend& backend, const TextTokenizer& tok,
                                       int64_t block_size, const SampleOptions& o) {
  if (!(o.temperature > 0))
    return absl::InvalidArgumentError(absl::StrCat("temperature must be > 0, got ", o.temperature));
  if (o.top_k < 0)
    return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 0, got ", o.top_k));
  if (o.prompt.empty()) return absl::InvalidArgumentError("the prompt is empty");
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, tok.Encode(o.prompt));
  Rng rng(o.seed);
  std::vector<int32_t> generated;
  std::string pending;  // bytes drawn but not yet passed to on_text (an unfinished character)
  for (int64_t n = 0; n < o.max_new_tokens; ++n) {
    ASSIGN_OR_RETURN(std::vector<float> logits,
                     NextLogits(backend, ids, block_size, o.kv_cache, n == 0));
    // Only the tokenizer's ids: a vocabulary padded past it (GPT-2's 50257 to 50304) has
    // logits the tokenizer cannot decode.
    std::vector<double> p(logits.begin(),
                          logits.begin() + std::min<size_t>(logits.size(), tok.vocab_size()));
    for (double& x : p) x /= o.temperature;
    if (o.top_k > 0 && o.top_k < static_cast<int64_t>(p.size())) {
      std::vector<double> sorted = p;
      std::nth_element(sorted.begin(), sorted.begin() + (o.top_k - 1), sorted.end(),
                       std::greater<>());
      const double kth = sorted[o.top_k - 1];
      for (double& x : p)
        if (x < kth) x = -INFINITY;
    }
    const double mx = *std::max_element(p.begin(), p.end());
    double sum = 0;
    for (double& x : p) sum += (x = std::exp(x - mx));
    double r = rng.Uniform() * sum;
    int32_t next = static_cast<int32_t>(p.size()) - 1;
    for (size_t i = 0; i < p.size(); ++i) {
      if ((r -= p[i]) < 0) {
        next = static_cast<int32_t>(i);
        break;
      }
    }
    ids.push_back(next);
    generated.push_back(next);
    if (o.on_text) {
      ASSIGN_OR_RETURN(std::string piece, tok.Decode({next}));
      pending += piece;
      const size_t whole = CompleteUtf8Prefix(pending);
      if (whole > 0) o.on_text(pending.substr(0, whole));
      pending.erase(0, whole);
    }
  }
  if (o.on_text && !pending.empty()) o.on_text(pending);
  return tok.Decode(generated);
}

}  // namespace gptc
