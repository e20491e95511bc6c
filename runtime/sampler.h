// Autoregressive sampling with temperature and top-k from any Backend. The context is the
// last block_size tokens; the backend returns the next-token logits at the context's end,
// with a KV cache or by recomputing the window.
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
  // Decode with the KV cache (Backend::Prefill/Decode): one new position per token while the
  // text fits the block; past it, the window is cropped to the last block_size tokens as
  // nanoGPT does, and (positions being learned) refilled with a prefill. false recomputes the
  // whole window for every token. Both draw the same tokens.
  bool kv_cache = true;
  // Called with each new token's text as soon as it is drawn (streaming to a terminal).
  std::function<void(const std::string&)> on_text;
};

absl::StatusOr<std::string> SampleText(Backend& backend, const CharTokenizer& tok,
                                       int64_t block_size, const SampleOptions& options);

}  // namespace gptc
