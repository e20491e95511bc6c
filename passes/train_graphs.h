// The standard pipelines that turn a forward graph (returning %logits and %loss) into what the
// runtime runs:
//   train_step:  forward -> autodiff -> adamw -> dce -> cse -> fuse -> plan
//                inputs (tokens, targets, lr, step) -> loss; params and moments updated
//   eval_step:   forward -> dce -> cse -> fuse -> plan, returning only the loss
//   sample_step: forward -> dce -> cse -> fuse -> plan, returning only the logits
// `fuse` is left out when StepOptions::fuse is false (--no-fuse), `plan` when
// StepOptions::plan is false (--no-plan: one buffer per value, as an eager framework).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "passes/adamw.h"
#include "passes/fuse.h"
#include "passes/pipeline.h"
#include "passes/plan.h"

namespace gptc::passes {

struct StepOptions {
  StepOptions() = default;
  StepOptions(const AdamWOptions& a) : adamw(a) {}  // NOLINT: most callers only set AdamW
  AdamWOptions adamw;
  bool fuse = true;
  FuseOptions fusion;  // which patterns, and where explanations go
  bool plan = true;
  PlanOptions planning;
  // The element type GEMM operands are rounded to: f32, or bf16 for mixed precision
  // (passes/mixed_precision.h), which adds the pass "bf16" after fusion.
  ir::DType gemm_dtype = ir::DType::kF32;
  // Average the gradients over the replicas of an mpirun job (passes/data_parallel.h): the
  // pass "all-reduce" after autodiff.
  bool all_reduce_gradients = false;
  // Gradient accumulation over this many micro-batches (passes/grad_accum.h): above 1, the
  // train step is the last micro-batch's (the pass "grad-accum" after autodiff) and
  // AccumulatePipeline builds the others'.
  int grad_accum = 1;
};

Pipeline TrainPipeline(const StepOptions& options = {});
Pipeline EvalPipeline(const StepOptions& options = {});
// The step of micro-batches 1 .. N-1 under gradient accumulation:
//   forward -> autodiff -> grad-accum (into the sums) -> dce -> cse -> fuse -> plan
Pipeline AccumulatePipeline(const StepOptions& options);

// A copy of `g` whose outputs are the values with these names, in this order.
absl::StatusOr<ir::Graph> SelectOutputs(const ir::Graph& g, const std::vector<std::string>& names);

absl::StatusOr<ir::Graph> BuildTrainStep(const ir::Graph& forward, const StepOptions& step = {},
                                         const PipelineOptions& options = {});
absl::StatusOr<ir::Graph> BuildAccumulateStep(const ir::Graph& forward, const StepOptions& step,
                                              const PipelineOptions& options = {});
absl::StatusOr<ir::Graph> BuildEvalStep(const ir::Graph& forward, const StepOptions& step = {},
                                        const PipelineOptions& options = {});
absl::StatusOr<ir::Graph> BuildSampleStep(const ir::Graph& forward, const StepOptions& step = {});

}  // namespace gptc::passes
