// Fused ops: what each one's body must be. A fused node (trait kFused) carries the ops it
// absorbed as its body; the body is what the op means (the interpreter runs it), and a
// hand-written kernel computes the same thing in one pass. So that the two cannot drift
// apart, every named fused op has a template here, and Verify() accepts a fused node only if
// its body is exactly that template (same ops, same wiring) and its attributes are the ones
// the body implies. The generic `fusion` op accepts any body its lowering can build
// (ir/fusion_layout.h).
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::ir {

// Checks `n`'s body against its op's template (or the generic rule for `fusion`), and that
// the body's inputs and outputs have the node's operand and result types.
absl::Status CheckFusedBody(const Graph& g, const Node& n);

// The attributes a fused node of op `op` takes from its body (eps, scale; `pattern` of a
// generic fusion is the pass's label and is not implied).
absl::StatusOr<Attrs> FusedAttrs(Op op, const Graph& body);

}  // namespace gptc::ir
