// The step graphs of a model, built in one place: every backend (compiled or interpreted)
// runs exactly these, so what is trained, evaluated and sampled is the same graph whatever
// runs it.
#pragma once

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "ir/graph.h"
#include "passes/kv_cache.h"
#include "passes/train_graphs.h"

namespace gptc::passes {

struct StepGraphs {
  ForwardGraph model;  // the forward graph at the model's batch_size, and the parameters
  ir::Graph train;     // TrainPipeline: loss, with AdamW updates (and dropout, if the model has it:
                       // input %rng_key = (seed, step))
  ir::Graph accumulate;  // AccumulatePipeline, when step.grad_accum > 1 (else empty): loss,
                         // adding the gradients into the sums the train step consumes
  ir::Graph eval;        // EvalPipeline: loss (every graph but train is built without dropout)
  ir::Graph sample;      // EvalPipeline at batch 1: logits (sampling one sequence)
  ir::Graph prefill;     // KV-cache sampling (passes/kv_cache.h): the window, filling the cache
  ir::Graph decode;      // KV-cache sampling: one token at a runtime position
};

// The KV-cache graph `which` of a batch-1 forward graph: logits only, dce, then KvPipeline:
// DeriveKvGraph followed by the eval pipeline's passes (dce, cse, fuse, plan).
Pipeline KvPipeline(KvGraph which, const StepOptions& step = {});
// The input KvPipeline expects: the forward graph's logits, dead code removed.
absl::StatusOr<ir::Graph> KvPipelineInput(const ir::Graph& forward);
absl::StatusOr<ir::Graph> BuildKvStep(const ir::Graph& forward, KvGraph which,
                                      const StepOptions& step = {},
                                      const PipelineOptions& options = {});

// Fusion explanations (step.fusion.explain) are given for the train step only; the eval and
// sampling steps fuse the same way.
// The forward graphs come from the model's builder: at batch_size for train and eval (eval in
// inference mode), at batch 1 for sampling.
absl::StatusOr<StepGraphs> BuildStepGraphs(const Model& model, const StepOptions& step = {});

}  // namespace gptc::passes
