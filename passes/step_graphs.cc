#include "passes/step_graphs.h"

#include "ir/status_macros.h"
#include "passes/dce.h"

namespace gptc::passes {

absl::StatusOr<StepGraphs> BuildStepGraphs(const Model& model, const StepOptions& step) {
  RETURN_IF_ERROR(model.Validate());
  StepGraphs s;
  ASSIGN_OR_RETURN(s.model, model.forward({.batch = model.batch_size, .training = true}));
  RETURN_IF_ERROR(CheckBuffers(s.model.graph, s.model.buffers));
  ASSIGN_OR_RETURN(s.train, BuildTrainStep(s.model.graph, step));
  StepOptions quiet = step;
  quiet.fusion.explain = nullptr;
  if (step.grad_accum > 1) {
    ASSIGN_OR_RETURN(s.accumulate, BuildAccumulateStep(s.model.graph, quiet));
  }
  // Evaluation and sampling run the model in inference mode (no dropout).
  ASSIGN_OR_RETURN(ForwardGraph eval,
                   model.forward({.batch = model.batch_size, .training = false}));
  ASSIGN_OR_RETURN(s.eval, BuildEvalStep(eval.graph, quiet));
  ASSIGN_OR_RETURN(ForwardGraph single, model.forward({.batch = 1, .training = false}));
  ASSIGN_OR_RETURN(s.sample, BuildSampleStep(single.graph, quiet));
  ASSIGN_OR_RETURN(s.prefill, BuildKvStep(single.graph, KvGraph::kPrefill, quiet));
  ASSIGN_OR_RETURN(s.decode, BuildKvStep(single.graph, KvGraph::kDecode, quiet));
  return s;
}

Pipeline KvPipeline(KvGraph which, const StepOptions& step) {
  Pipeline p;
  p.Add(which == KvGraph::kDecode ? "kv-decode" : "kv-prefill",
        [which](const ir::Graph& g) { return DeriveKvGraph(g, which); });
  p.Append(EvalPipeline(step));
  return p;
}

absl::StatusOr<ir::Graph> KvPipelineInput(const ir::Graph& forward) {
  ASSIGN_OR_RETURN(ir::Graph logits, SelectOutputs(forward, {"logits"}));
  return DeadCodeElimination(logits);
}

absl::StatusOr<ir::Graph> BuildKvStep(const ir::Graph& forward, KvGraph which,
                                      const StepOptions& step, const PipelineOptions& options) {
  ASSIGN_OR_RETURN(ir::Graph logits, KvPipelineInput(forward));
  return KvPipeline(which, step).Run(logits, options);
}

}  // namespace gptc::passes
