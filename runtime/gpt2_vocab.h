// GPT-2's own tokenizer from its vocabulary files (MIT licence; never committed here):
// encoder.json maps each token's text (bytes written through bytes_to_unicode, byte_unicode.h)
// to its id, vocab.bpe lists the merges in rank order after a "#version" line, and
// <|endoftext|> is the special token 50256. 50257 ids.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/bpe_tokenizer.h"

namespace gptc {

inline constexpr const char* kGpt2Tokenizer = "gpt2";

// The directory holding encoder.json and vocab.bpe: `explicit_dir` if given, else
// $GPTC_GPT2_DIR, else data/gpt2 or shared/data/gpt2 under the data search directories
// (data_path.h; scripts/setup.sh copies or downloads them to data/gpt2). The error lists every
// place looked at.
absl::StatusOr<std::string> ResolveGpt2Dir(const std::string& explicit_dir = "");

// Reads the two files of `dir`; a missing file, malformed JSON, an unknown token in a merge,
// or a merge whose result is not in the encoder is an error naming the file and line.
absl::StatusOr<BpeTokenizer> LoadGpt2Tokenizer(const std::string& dir);

}  // namespace gptc
