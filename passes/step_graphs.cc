#include "passes/step_graphs.h"

#include "ir/status_macros.h"
#include "passes/dce.h"

namespace gptc::passes {

absl::StatusOr<StepGraphs> BuildStepGraphs(const GptConfig& cfg, const StepOptions& step) {
  StepGraphs s;
  ASSIGN_OR_RETURN(s.model, nn::BuildGpt(cfg));
  ASSIGN_OR_RETURN(s.train, BuildTrainStep(s.model.graph, step));
  StepOptions quiet = step;
  quiet.fusion.explain = nullptr;
  // Dropout is for training: evaluation and sampling run the model without it.
  GptConfig inference = cfg;
  inference.dropout = 0;
  const nn::GptGraph* eval_model = &s.model;
  nn::GptGraph no_dropout;
  if (cfg.dropout > 0) {
    ASSIGN_OR_RETURN(no_dropout, nn::BuildGpt(inference));
    eval_model = &no_dropout;
  }
  ASSIGN_OR_RETURN(s.eval, BuildEvalStep(eval_model->graph, quiet));
  GptConfig one = inference;  // sampling runs one sequence at a time
  one.batch_size = 1;
  ASSIGN_OR_RETURN(nn::GptGraph single, nn::BuildGpt(one));
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
