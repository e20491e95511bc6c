// Reads the IR text form written by PrintGraph. Syntax errors and undefined or duplicate
// names are reported with line and column and the source line; everything else (arity,
// types, order, cycles) is left to Verify() so that broken graphs can be read and diagnosed.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::ir {

absl::StatusOr<Graph> ParseGraph(std::string_view text);

}  // namespace gptc::ir
