// Autoregressive sampling with temperature and top-k from any Backend. The context is the
// last block_size tokens; the backend returns the next-token logits at the context's end,
// with a KV cache or by recomputing the window.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/backend.h"
#include "runtime/text_tokenizer.h"

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
  // Called with each new token's text as soon as it is drawn (streaming to a terminal). With
  // a BPE tokenizer a token may end inside a multi-byte UTF-8 character: its bytes are held
  // back until the character is complete, so each call passes whole characters.
  std::function<void(const std::string&)> on_text;
};

absl::StatusOr<std::string> SampleText(Backend& backend, const TextTokenizer& tok,
                                       int64_t block_size, const SampleOptions& options);

// How many leading bytes of `bytes` end on a UTF-8 character boundary: all but an incomplete
// multi-byte character at the end (invalid bytes count as complete).
size_t CompleteUtf8Prefix(const std::string& bytes);

}  // namespace gptc
