// Tokens of the IR text form. Internal to the parser; exposed for its tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gptc::ir {

enum class TokKind { kName, kIdent, kNumber, kString, kPunct, kEnd };

struct Token {
  TokKind kind;
  std::string text;  // kName: without '%'; kString: unquoted, unescaped; kPunct: the character
  int line = 1;      // 1-based
  int col = 1;       // 1-based
};

// Splits `text` into tokens; `//` starts a comment that runs to the end of the line.
// Errors are diagnostics (ir/diagnostic.h) at the bad character, naming `file`.
absl::StatusOr<std::vector<Token>> Lex(std::string_view text, std::string_view file);

// How a token is quoted in messages: `'%x'`, `'matmul'`, `end of input`.
std::string Describe(const Token& t);

}  // namespace gptc::ir
