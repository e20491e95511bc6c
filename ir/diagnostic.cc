#include "ir/diagnostic.h"

#include "absl/strings/str_cat.h"

namespace gptc::ir {

std::string Diagnostic(std::string_view file, std::string_view source, SourceLoc at,
                       std::string_view message) {
  std::string out =
      absl::StrCat(std::string(file), ":", at.line, ":", at.col, ": error: ", std::string(message));
  size_t start = 0;
  for (int l = 1; l < at.line && start != std::string_view::npos; ++l) {
    start = source.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (at.line <= 0 || start == std::string_view::npos) return out;
  const size_t end = source.find('\n', start);
  const std::string_view text =
      source.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  // The caret line keeps the source's tabs, so the caret lines up in any tab width.
  std::string caret;
  for (int c = 1; c < at.col && static_cast<size_t>(c - 1) < text.size(); ++c)
    caret += text[c - 1] == '\t' ? '\t' : ' ';
  absl::StrAppend(&out, "\n", std::string(text), "\n", caret, "^");
  return out;
}

}  // namespace gptc::ir
