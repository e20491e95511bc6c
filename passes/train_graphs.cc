#include "passes/train_graphs.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "passes/autodiff.h"
#include "passes/cse.h"
#include "passes/dce.h"

namespace gptc::passes {

Pipeline TrainPipeline(const AdamWOptions& adamw) {
  Pipeline p;
  p.Add("autodiff", [](const ir::Graph& g) { return Autodiff(g); });
  p.Add("adamw", [adamw](const ir::Graph& g) { return AdamW(g, adamw); });
  p.Add("dce", DeadCodeElimination);
  p.Add("cse", CommonSubexpressionElimination);
  return p;
}

Pipeline EvalPipeline() {
  Pipeline p;
  p.Add("dce", DeadCodeElimination);
  p.Add("cse", CommonSubexpressionElimination);
  return p;
}

absl::StatusOr<ir::Graph> SelectOutputs(const ir::Graph& g, const std::vector<std::string>& names) {
  ir::Graph out = g;
  std::vector<ir::ValueId> ids;
  for (const std::string& n : names) {
    auto v = g.FindValue(n);
    if (!v) return absl::InvalidArgumentError(absl::StrCat("graph has no value named %", n));
    ids.push_back(*v);
  }
  out.set_outputs(ids);
  return out;
}

absl::StatusOr<ir::Graph> BuildTrainStep(const ir::Graph& forward, const AdamWOptions& adamw,
                                         const PipelineOptions& options) {
  ASSIGN_OR_RETURN(ir::Graph g, SelectOutputs(forward, {"loss"}));
  g.set_name("train_step");
  Pipeline p = TrainPipeline(adamw);
  return p.Run(g, options);
}

absl::StatusOr<ir::Graph> BuildEvalStep(const ir::Graph& forward, const PipelineOptions& options) {
  ASSIGN_OR_RETURN(ir::Graph g, SelectOutputs(forward, {"loss"}));
  g.set_name("eval_step");
  Pipeline p = EvalPipeline();
  return p.Run(g, options);
}

}  // namespace gptc::passes
