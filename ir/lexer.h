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
// Errors name the line and column of the bad character.
absl::StatusOr<std::vector<Token>> Lex(std::string_view text);

// How a token is quoted in messages: `'%x'`, `'matmul'`, `end of input`.
std::string Describe(const Token& t);

}  // namespace gptc::ir
