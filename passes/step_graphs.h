// The step graphs of a model, built in one place: every backend (compiled or interpreted)
// runs exactly these, so what is trained, evaluated and sampled is the same graph whatever
// runs it.
#pragma once

#include "absl/status/statusor.h"
#include "frontend/config.h"
#include "frontend/nn/gpt.h"
#include "ir/graph.h"
#include "passes/train_graphs.h"

namespace gptc::passes {

struct StepGraphs {
  nn::GptGraph model;  // the forward graph at cfg.batch_size, and the parameters to initialise
  ir::Graph train;     // TrainPipeline: loss, with AdamW updates
  ir::Graph eval;      // EvalPipeline: loss
  ir::Graph sample;    // EvalPipeline at batch 1: logits (sampling one sequence)
};

// Fusion explanations (step.fusion.explain) are given for the train step only; the eval and
// sampling steps fuse the same way.
absl::StatusOr<StepGraphs> BuildStepGraphs(const GptConfig& cfg, const StepOptions& step = {});

}  // namespace gptc::passes
