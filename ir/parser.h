// Reads the IR text form written by PrintGraph. Syntax errors and undefined or duplicate
// names are diagnostics (ir/diagnostic.h: `file:line:col: error: ...`, the source line, a
// caret); everything else (arity, types, order, cycles) is left to Verify() so that broken
// graphs can be read and diagnosed. `locations`, if given, receives where each node of the
// graph is written (its first token), by node id, to place the verifier's errors.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/diagnostic.h"
#include "ir/graph.h"

namespace gptc::ir {

absl::StatusOr<Graph> ParseGraph(std::string_view text, std::string_view file = "<input>",
                                 std::vector<SourceLoc>* locations = nullptr);

}  // namespace gptc::ir
