// The file a tokenizer trained by gptc is saved in (`gptc tokenizer train --out=FILE`): text,
// one record per line.
//
//   gptc-bpe 1
//   merges N
//   L R          N lines, in rank order: merge i joins ids L and R into id 256 + i
//   specials M
//   ID TEXT      M lines: a special token's id and its text (no whitespace in it)
//
// Ids 0..255 are the single bytes, in byte order; the vocabulary is 256 + N + M ids with the
// specials last. Lines starting with '#' are comments.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "runtime/bpe_tokenizer.h"

namespace gptc {

// The name a tokenizer loaded from `path` has: "bpe:" + path.
std::string BpeFileTokenizerName(const std::string& path);

// The file's text (what SaveBpeFile writes).
absl::StatusOr<std::string> BpeFileText(const BpeTokenizer& t);
absl::Status SaveBpeFile(const BpeTokenizer& t, const std::string& path);
// The same from the text of such a file; `origin` names it in errors and in the name.
absl::StatusOr<BpeTokenizer> ParseBpeFile(const std::string& text, const std::string& origin);
// Errors name the file and line: a wrong header, a count that does not match the records, an id
// not yet defined, a special whose id is not the next one.
absl::StatusOr<BpeTokenizer> LoadBpeFile(const std::string& path);

}  // namespace gptc
