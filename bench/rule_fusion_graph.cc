#include "bench/rule_fusion_graph.h"

#include "frontend/builder.h"
#include "frontend/ops.h"
#include "ir/status_macros.h"
#include "passes/autodiff.h"

namespace gptc {

absl::StatusOr<ir::Graph> RuleFusionGraph(int64_t tokens, int64_t width, int64_t keys) {
  Builder b("rule_fusion");
  Tensor x = b.Param("x", ir::F32({tokens, width}), ParamInit::Normal(1.0));
  Tensor w = b.Param("norm.w", ir::F32({width}), ParamInit::Ones());
  Tensor ms = Reshape(Mean(x * x, -1), {tokens, 1});
  Tensor norm = (x * Rsqrt(ms + b.Constant(1e-5, ms.type())) * w).named("rmsnorm");
  Tensor w1 = b.Param("w1", ir::F32({width, width}), ParamInit::Normal(0.02));
  Tensor w2 = b.Param("w2", ir::F32({width, width}), ParamInit::Normal(0.02));
  Tensor swiglu = (Silu(MatMul(norm, w1)) * MatMul(norm, w2)).named("swiglu");
  Tensor scores =
      Reshape(MatMul(swiglu, b.Param("wk", ir::F32({width, keys}), ParamInit::Normal(0.02))),
              {tokens, keys});
  Tensor e = Exp(scores - Reshape(Max(scores, -1), {tokens, 1}));
  Tensor probs = (e / Reshape(Sum(e, -1), {tokens, 1})).named("softmax");
  Tensor out = MatMul(probs, b.Param("wo", ir::F32({keys, width}), ParamInit::Normal(0.02)));
  Tensor r = b.Input("r", out.type());
  Tensor loss = Sum(Reshape(out * out * r, {-1}), 0).named("loss");
  ASSIGN_OR_RETURN(ir::Graph fwd, b.Finish({loss}));
  return passes::Autodiff(fwd);
}

}  // namespace gptc
