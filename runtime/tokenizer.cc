#include "runtime/tokenizer.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gptc {

absl::Status CheckTokenizerName(const std::string& name) {
  if (name == kCharTokenizer || name == "gpt2" || name == "bpe") return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("no tokenizer called '", name, "' (gptc has: char, gpt2, bpe)"));
}

absl::StatusOr<CharTokenizer> CharTokenizer::FromText(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("tokenizer: the text is empty");
  bool seen[256] = {};
  for (unsigned char c : text) seen[c] = true;
  CharTokenizer t;
  std::fill(std::begin(t.stoi_), std::end(t.stoi_), -1);
  for (int c = 0; c < 256; ++c) {
    if (!seen[c]) continue;
    t.stoi_[c] = static_cast<int16_t>(t.itos_.size());
    t.itos_.push_back(static_cast<char>(c));
  }
  return t;
}

absl::StatusOr<std::vector<int32_t>> CharTokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = text[i];
    if (stoi_[c] < 0)
      return absl::InvalidArgumentError(
          absl::StrFormat("tokenizer: byte 0x%02x at position %d is not in the vocabulary", c, i));
    ids[i] = stoi_[c];
  }
  return ids;
}

absl::StatusOr<std::string> CharTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size())
      return absl::InvalidArgumentError(absl::StrCat("tokenizer: id ", ids[i], " at position ", i,
                                                     " is outside [0,", vocab_size(), ")"));
    out.push_back(itos_[ids[i]]);
  }
  return out;
}

}  // namespace gptc
