// Common-subexpression elimination. Two nodes with the same op, attributes, operands (after
// earlier merges) and result types compute the same values: the later one is dropped and its
// uses read the earlier one's results. Declarations are never merged. The earlier node's
// names are kept.
#pragma once

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

absl::StatusOr<ir::Graph> CommonSubexpressionElimination(const ir::Graph& g);

}  // namespace gptc::passes
