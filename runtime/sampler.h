// Autoregressive sampling with temperature and top-k from any Backend. The context is the
// last block_size tokens; the backend returns the next-token logits at the context's end.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/backend.h"
#include "runtime/tokenizer.h"

namespace gptc {

struct SampleOptions {
  std::string prompt = "\n";
  int64_t max_new_tokens = 200;
  double temperature = 0.8;  // > 0
  int64_t top_k = 0;         // 0: all tokens
  uint64_t seed = 1;
  // Called with each new token's text as soon as it is drawn (streaming to a terminal).
  std::function<void(const std::string&)> on_text;
};

absl::StatusOr<std::string> SampleText(Backend& backend, const CharTokenizer& tok,
                                       int64_t block_size, const SampleOptions& options);

}  // namespace gptc
