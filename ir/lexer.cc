#include "ir/lexer.h"

#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ir/diagnostic.h"

namespace gptc::ir {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}
bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokKind::kEnd:
      return "end of input";
    case TokKind::kName:
      return absl::StrCat("'%", t.text, "'");
    case TokKind::kString:
      return absl::StrCat("string \"", t.text, "\"");
    default:
      return absl::StrCat("'", t.text, "'");
  }
}

absl::StatusOr<std::vector<Token>> Lex(std::string_view s, std::string_view file) {
  std::vector<Token> out;
  int line = 1;
  size_t line_start = 0;
  size_t i = 0;
  auto error = [&](size_t at, const std::string& msg) {
    return absl::InvalidArgumentError(
        Diagnostic(file, s, {line, static_cast<int>(at - line_start + 1)}, msg));
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    Token t{TokKind::kPunct, "", line, static_cast<int>(i - line_start + 1)};
    const size_t start = i;
    if (c == '%') {
      ++i;
      while (i < s.size() && IsNameChar(s[i])) ++i;
      if (i == start + 1) return error(start, "'%' must be followed by a value name");
      t.kind = TokKind::kName;
      t.text = std::string(s.substr(start + 1, i - start - 1));
    } else if (IsIdentStart(c)) {
      while (i < s.size() && IsIdentChar(s[i])) ++i;
      t.kind = TokKind::kIdent;
      t.text = std::string(s.substr(start, i - start));
    } else if (IsDigit(c) || (c == '-' && i + 1 < s.size() && IsDigit(s[i + 1]))) {
      ++i;
      while (i < s.size() && IsDigit(s[i])) ++i;
      if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && IsDigit(s[i])) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && IsDigit(s[j])) {
          i = j;
          while (i < s.size() && IsDigit(s[i])) ++i;
        }
      }
      if (i < s.size() && (IsIdentChar(s[i]) || s[i] == '.'))
        return error(start, absl::StrCat("malformed number '",
                                         std::string(s.substr(start, i + 1 - start)), "'"));
      t.kind = TokKind::kNumber;
      t.text = std::string(s.substr(start, i - start));
    } else if (c == '"') {  // a string: \" and \\ are the only escapes
      ++i;
      while (i < s.size() && s[i] != '"' && s[i] != '\n') {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) ++i;
        t.text += s[i++];
      }
      if (i >= s.size() || s[i] != '"') return error(start, "unterminated string");
      ++i;
      t.kind = TokKind::kString;
    } else if (std::string_view("()[]{},=:-<@").find(c) != std::string_view::npos) {
      ++i;
      t.text = std::string(1, c);
    } else {
      const unsigned char b =
          static_cast<unsigned char>(c);  // a NUL or control byte is shown as hex
      return error(start, b >= 0x20 && b < 0x7f
                              ? absl::StrCat("unexpected character '", std::string(1, c), "'")
                              : absl::StrFormat("unexpected byte 0x%02x", b));
    }
    out.push_back(std::move(t));
  }
  out.push_back(Token{TokKind::kEnd, "", line, static_cast<int>(i - line_start + 1)});
  return out;
}

}  // namespace gptc::ir
