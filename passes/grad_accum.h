// Gradient accumulation (--grad-accum=N): one optimiser step over N micro-batches, equal to
// one step on a batch N times larger (each micro-batch's loss is a mean over its rows, so the
// large batch's gradient is the mean of theirs), at the memory of one micro-batch.
//
// Two train graphs share a state `grad_acc.<p>` per parameter (zero between steps):
//  - kMicro, run for micro-batches 1 .. N-1: forward and backward, then
//      grad_acc.<p> <- grad_acc.<p> + grad.<p>      (no optimiser; returns the loss)
//  - kLast, run for micro-batch N: forward and backward, then
//      grad.<p> = (grad_acc.<p> + grad.<p>) / N     (what AdamW and its clipping see)
//      grad_acc.<p> <- 0
// Runs right after autodiff (before the data-parallel all-reduce, which then averages the
// accumulated gradient once per step, and before AdamW).
#pragma once

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

inline constexpr char kGradAccumPrefix[] = "grad_acc.";

enum class GradAccumGraph { kMicro, kLast };

// `g` is autodiff's result: outputs the loss, then `grad.<p>` per parameter.
absl::StatusOr<ir::Graph> AccumulateGradients(const ir::Graph& g, GradAccumGraph which,
                                              int micro_batches);

}  // namespace gptc::passes
