// GPT-2's pre-tokenizer: splits text into the pieces BPE merges within (contractions, runs of
// letters, of digits, of other symbols, each with one optional leading space, and whitespace
// runs), by GPT-2's regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// on PCRE2 (Unicode classes and the lookahead; JIT-compiled). \s is spelled out as Unicode's
// White_Space (what tiktoken's and the Python originals' \s match; PCRE2's own \s leaves out
// U+0085). Bytes that are not valid UTF-8 match nothing; each run of them becomes a piece of
// its own, so every byte string splits into pieces that concatenate back to it.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gptc {

class Pretokenizer {
 public:
  static absl::StatusOr<Pretokenizer> Gpt2();
  Pretokenizer(Pretokenizer&&) noexcept;
  Pretokenizer& operator=(Pretokenizer&&) noexcept;
  ~Pretokenizer();

  // The pieces of `text`, views into it, in order. Thread-safe.
  std::vector<std::string_view> Split(std::string_view text) const;

 private:
  Pretokenizer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gptc
