// The checker of memory plans. It shares no code with the planner (passes/plan*.cc): it
// recomputes liveness from the graph and the placements alone, and proves that
//  - every value has a placement, of the right kind for what it is (declarations in their
//    persistent region, buffers 64-byte aligned and large enough);
//  - no two values that are live at the same time overlap in memory;
//  - every view stays inside its base;
//  - an in-place write only replaces a value that is dead afterwards.
// The verifier runs it on every planned graph; an unplanned graph passes trivially.
#pragma once

#include "absl/status/status.h"
#include "ir/graph.h"

namespace gptc::ir {

absl::Status CheckPlan(const Graph& g);

// A layout op (reshape, slice, transpose, concat) whose data is already where the plan says:
// its result is a view of its operand, or its operands are views into its result. The
// runtime and the interpreter run nothing for it.
bool MovesNoData(const Graph& g, const Node& n);

}  // namespace gptc::ir
