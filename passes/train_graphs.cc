#include "passes/train_graphs.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "passes/autodiff.h"
#include "passes/cse.h"
#include "passes/data_parallel.h"
#include "passes/dce.h"
#include "passes/grad_accum.h"
#include "passes/mixed_precision.h"

namespace gptc::passes {

namespace {

// The passes every pipeline ends with: fuse, mixed precision if asked for, then plan memory.
void AddFuseAndPlan(Pipeline& p, const StepOptions& o) {
  if (o.fuse) {
    const FuseOptions f = o.fusion;
    p.Add("fuse", [f](const ir::Graph& g) { return Fuse(g, f); });
  }
  if (o.gemm_dtype != ir::DType::kF32) {
    const ir::DType to = o.gemm_dtype;
    p.Add("bf16", [to](const ir::Graph& g) { return CastGemmOperands(g, to); });
  }
  if (o.plan) {
    const PlanOptions po = o.planning;
    p.Add("plan", [po](const ir::Graph& g) { return Plan(g, po); });
  }
}

absl::StatusOr<ir::Graph> Run(const ir::Graph& forward, const std::string& output,
                              const std::string& name, Pipeline p, const PipelineOptions& options) {
  ASSIGN_OR_RETURN(ir::Graph g, SelectOutputs(forward, {output}));
  g.set_name(name);
  return p.Run(g, options);
}

}  // namespace

Pipeline TrainPipeline(const StepOptions& o) {
  Pipeline p;
  p.Add("autodiff", [](const ir::Graph& g) { return Autodiff(g); });
  if (o.grad_accum > 1) {
    const int n = o.grad_accum;
    p.Add("grad-accum",
          [n](const ir::Graph& g) { return AccumulateGradients(g, GradAccumGraph::kLast, n); });
  }
  if (o.all_reduce_gradients) p.Add("all-reduce", AllReduceGradients);
  const AdamWOptions adamw = o.adamw;
  p.Add("adamw", [adamw](const ir::Graph& g) { return AdamW(g, adamw); });
  p.Add("dce", DeadCodeElimination);
  p.Add("cse", CommonSubexpressionElimination);
  AddFuseAndPlan(p, o);
  return p;
}

Pipeline AccumulatePipeline(const StepOptions& o) {
  Pipeline p;
  p.Add("autodiff", [](const ir::Graph& g) { return Autodiff(g); });
  const int n = o.grad_accum;
  p.Add("grad-accum",
        [n](const ir::Graph& g) { return AccumulateGradients(g, GradAccumGraph::kMicro, n); });
  p.Add("dce", DeadCodeElimination);
  p.Add("cse", CommonSubexpressionElimination);
  AddFuseAndPlan(p, o);
  return p;
}

Pipeline EvalPipeline(const StepOptions& o) {
  Pipeline p;
  p.Add("dce", DeadCodeElimination);
  p.Add("cse", CommonSubexpressionElimination);
  AddFuseAndPlan(p, o);
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

absl::StatusOr<ir::Graph> BuildTrainStep(const ir::Graph& forward, const StepOptions& step,
                                         const PipelineOptions& options) {
  return Run(forward, "loss", "train_step", TrainPipeline(step), options);
}

absl::StatusOr<ir::Graph> BuildAccumulateStep(const ir::Graph& forward, const StepOptions& step,
                                              const PipelineOptions& options) {
  return Run(forward, "loss", "accumulate_step", AccumulatePipeline(step), options);
}

absl::StatusOr<ir::Graph> BuildEvalStep(const ir::Graph& forward, const StepOptions& step,
                                        const PipelineOptions& options) {
  return Run(forward, "loss", "eval_step", EvalPipeline(step), options);
}

absl::StatusOr<ir::Graph> BuildSampleStep(const ir::Graph& forward, const StepOptions& step) {
  return Run(forward, "logits", "sample_step", EvalPipeline(step), {});
}

}  // namespace gptc::passes
