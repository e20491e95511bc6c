// The memory planning pass: runs last in every pipeline (after fuse) and gives every value a
// placement (ir/placement.h), which the runtime follows to the byte.
//
// Contract. Input: a verified, unplanned graph. Output: the same computation, its nodes
// possibly reordered (the execution order the runtime follows), with
//  - aliases first: a reshape is a view of its operand; a slice or transpose is a strided
//    view when every reader can read strides (PlanOptions::strided_views); a view keeps its
//    base alive until the view's last reader;
//  - in place: an op that reads and writes each element at the same index (elementwise ops
//    and elementwise fusions) writes over an operand whose memory dies there (same size,
//    not persistent, not returned); an update's new value (AdamW) takes over the parameter
//    or moment it replaces when nothing reads the old one afterwards, so updates copy nothing;
//  - persistent regions, each contiguous: parameters, gradients (`%grad.<param>`, in
//    parameter order, so later work can treat them as one block), state (AdamW moments) and
//    inputs;
//  - one arena for every other value, offsets from live intervals by best fit; several
//    orders of placement (by size, by start, by lifetime) are tried and the smallest kept.
// Several execution orders are tried (the given one, and a greedy one that runs first the
// ready node that frees the most memory, after PyTorch Inductor's reorder_for_peak_memory);
// the one with the smallest arena is kept. The result passes ir::CheckPlan (the verifier).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

struct PlanOptions {
  bool reorder = true;        // try other execution orders
  bool in_place = true;       // in-place elementwise ops and updates
  bool strided_views = true;  // slices and transposes read through strides, no copy
};

absl::StatusOr<ir::Graph> Plan(const ir::Graph& g, const PlanOptions& options = {});

// The placement of an eager framework, for graphs built without the plan pass (--no-plan)
// and for comparisons: every value in a buffer of its own, reshapes as views, nothing in
// place, the same persistent regions. Order unchanged.
ir::Graph PlanNaive(const ir::Graph& g);

}  // namespace gptc::passes
