// Error messages about a place in a source text, in the compilers' convention that editors
// and CI annotators parse:
//
//   model.ir:2:15: error: unknown op 'frob'
//     %b = f32[2] frob(%a)
//                 ^
#pragma once

#include <string>
#include <string_view>

namespace gptc::ir {

struct SourceLoc {
  int line = 0;  // 1-based; 0: unknown
  int col = 0;   // 1-based
};

// `file` names the source ("<input>" for text given directly); the quoted line is `line` of
// `source`, and the caret sits under column `col`.
std::string Diagnostic(std::string_view file, std::string_view source, SourceLoc at,
                       std::string_view message);

}  // namespace gptc::ir
