// A tokenizer chosen by name, behind one interface: `char` (nanoGPT's shakespeare_char: the
// distinct bytes of a text), `gpt2` (GPT-2's byte-level BPE from its vocabulary files) or the
// path of a tokenizer gptc trained (bpe_file.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gptc {

class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;
  // "char", "gpt2" or "bpe": what a checkpoint records (Model::tokenizer).
  virtual std::string name() const = 0;
  // What rebuilds it with MakeTokenizerFromState: char's alphabet, a trained BPE's file text,
  // nothing for gpt2 (its files are found again).
  virtual std::string state() const = 0;
  virtual int vocab_size() const = 0;
  // The id of <|endoftext|>, where the tokenizer has it (the BPE ones).
  virtual std::optional<int32_t> end_of_text() const = 0;
  // `char` fails on a byte outside its vocabulary; the BPE tokenizers encode any bytes.
  virtual absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const = 0;
  virtual absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const = 0;
};

struct TokenizerSources {
  std::string char_text;  // `char`: the text whose distinct bytes are the vocabulary
  std::string gpt2_dir;   // `gpt2`: encoder.json and vocab.bpe ("": found as gpt2_vocab.h says)
};

inline constexpr const char* kBpeTokenizer = "bpe";

// `spec`: "char", "gpt2", or a file. Errors name what is missing or malformed.
absl::StatusOr<std::unique_ptr<TextTokenizer>> MakeTokenizer(const std::string& spec,
                                                             const TokenizerSources& sources);
// From a checkpoint's or a token directory's record: name() and state(). `gpt2_dir` as above.
absl::StatusOr<std::unique_ptr<TextTokenizer>> MakeTokenizerFromState(
    const std::string& name, const std::string& state, const std::string& gpt2_dir = "");

}  // namespace gptc
