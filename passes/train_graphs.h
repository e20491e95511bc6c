// The standard pipelines that turn a forward graph (returning %loss) into what the runtime
// runs:
//   train_step: forward -> autodiff -> adamw -> dce -> cse
//               inputs (tokens, targets, lr, step) -> loss; params and moments updated
//   eval_step:  forward -> dce -> cse, returning only the loss
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "passes/adamw.h"
#include "passes/pipeline.h"

namespace gptc::passes {

Pipeline TrainPipeline(const AdamWOptions& adamw = {});
Pipeline EvalPipeline();

// A copy of `g` whose outputs are the values with these names, in this order.
absl::StatusOr<ir::Graph> SelectOutputs(const ir::Graph& g, const std::vector<std::string>& names);

absl::StatusOr<ir::Graph> BuildTrainStep(const ir::Graph& forward, const AdamWOptions& adamw = {},
                                         const PipelineOptions& options = {});
absl::StatusOr<ir::Graph> BuildEvalStep(const ir::Graph& forward, const PipelineOptions& options = {});

}  // namespace gptc::passes
