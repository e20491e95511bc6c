// Character tokenizer as nanoGPT's shakespeare_char: the vocabulary is the sorted set of
// distinct bytes of the training text; token i is the i-th smallest byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gptc {

// The tokenizers gptc has, by the names a Model gives (Model::tokenizer): "char", "gpt2" and
// "bpe" (text_tokenizer.h).
inline constexpr const char* kCharTokenizer = "char";
// OK when gptc has a tokenizer called `name`, else an error naming it and those it has.
absl::Status CheckTokenizerName(const std::string& name);

class CharTokenizer {
 public:
  // Builds the vocabulary from `text`; an empty text is an error.
  static absl::StatusOr<CharTokenizer> FromText(std::string_view text);

  int vocab_size() const { return static_cast<int>(itos_.size()); }
  // Fails on a byte outside the vocabulary, naming it and its position.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const;
  // Fails on an id outside [0, vocab_size).
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const;
  const std::string& alphabet() const { return itos_; }

 private:
  std::string itos_;   // id -> byte
  int16_t stoi_[256];  // byte -> id, or -1
};

}  // namespace gptc
