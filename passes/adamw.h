// AdamW as graph ops, appended after autodiff. For every parameter p with a gradient value
// `grad.<p>` (autodiff's naming) it adds the moments `m.<p>` and `v.<p>` as state, and
// updates p, m and v in place (`update` lines). The learning rate and the 1-based step
// number are runtime scalar inputs `%lr` and `%step`, so a schedule never recompiles. The
// arithmetic (torch.optim.AdamW's, in its order) is in ir/adamw_update.h; the fuse pass
// makes all of it one `adamw` node, one kernel. The gradient outputs are removed from
// the graph's outputs (they are consumed here); the other outputs stay, and the global
// gradient norm ||all grads||_2 is added as the last one, `%adamw.grad_norm` (the trainer
// stops on a non-finite one).
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "ir/adamw_update.h"
#include "ir/graph.h"

namespace gptc::passes {

using AdamWOptions = ir::AdamWHyper;  // beta1 0.9, beta2 0.99, eps 1e-8, wd 0.1, clip 1

absl::StatusOr<ir::Graph> AdamW(const ir::Graph& g, const AdamWOptions& options = {});

// The parameters in the order AdamW updates them and the plan lays them out: those declared
// `param decay` first, then the rest, each group in declaration order, so the
// decayed parameters are one contiguous block and the others another.
std::vector<ir::ValueId> AdamWOrder(const ir::Graph& g);

}  // namespace gptc::passes
