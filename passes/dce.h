// Dead-code elimination. Keeps every declaration (inputs, params and state are the graph's
// interface) and every node whose result reaches a graph output or a state update; removes
// the rest. Nothing else changes, so a graph without dead code comes out identical.
#pragma once

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

absl::StatusOr<ir::Graph> DeadCodeElimination(const ir::Graph& g);

}  // namespace gptc::passes
