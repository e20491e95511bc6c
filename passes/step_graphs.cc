#include "passes/step_graphs.h"

#include "ir/status_macros.h"

namespace gptc::passes {

absl::StatusOr<StepGraphs> BuildStepGraphs(const GptConfig& cfg, const StepOptions& step) {
  StepGraphs s;
  ASSIGN_OR_RETURN(s.model, nn::BuildGpt(cfg));
  ASSIGN_OR_RETURN(s.train, BuildTrainStep(s.model.graph, step));
  StepOptions quiet = step;
  quiet.fusion.explain = nullptr;
  ASSIGN_OR_RETURN(s.eval, BuildEvalStep(s.model.graph, quiet));
  GptConfig one = cfg;  // sampling runs one sequence at a time
  one.batch_size = 1;
  ASSIGN_OR_RETURN(nn::GptGraph single, nn::BuildGpt(one));
  ASSIGN_OR_RETURN(s.sample, BuildSampleStep(single.graph, quiet));
  return s;
}

}  // namespace gptc::passes
