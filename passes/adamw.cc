#include "passes/adamw.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/emitter.h"

namespace gptc::passes {
namespace {

using ir::Op;
using ir::ValueId;

struct ParamGrad {
  ValueId param;
  ValueId grad;
};

// Scalars shared by every parameter's update.
struct Scalars {
  ValueId lr, grad_norm, clip_coef, step_size, sqrt_bc2;
};

ValueId Broadcast(ir::Emitter& e, ValueId scalar, const ir::Shape& shape, const std::string& name) {
  if (shape.empty()) return scalar;
  return e.Emit(Op::kBroadcast, {scalar}, {{"shape", shape}}, name);
}

ValueId SumAll(ir::Emitter& e, ValueId x, const std::string& name) {
  const int64_t n = e.type(x).num_elements();
  ValueId flat = e.Emit(Op::kReshape, {x}, {{"shape", ir::Shape{n}}}, name + ".flat");
  return e.Emit(Op::kSum, {flat}, {{"axis", int64_t{0}}}, name);
}

Scalars BuildScalars(ir::Emitter& e, const std::vector<ParamGrad>& pgs, const AdamWOptions& o) {
  const ir::TensorType scalar = ir::F32({});
  Scalars s;
  s.lr = e.Decl(Op::kInput, scalar, "lr");
  ValueId step = e.Decl(Op::kInput, scalar, "step");
  ValueId one = e.Constant(1.0, scalar, "adamw.one");
  // The global gradient norm: the clipping coefficient's input, and a graph output so the
  // trainer can stop on a non-finite one (a NaN anywhere in the gradients reaches it).
  ValueId total = -1;
  for (const ParamGrad& pg : pgs) {
    const std::string base = "adamw." + e.graph().value(pg.param).name;
    ValueId sq = e.Emit(Op::kMul, {pg.grad, pg.grad}, {}, base + ".gsq");
    ValueId ss = SumAll(e, sq, base + ".gsq_sum");
    total = total < 0 ? ss : e.Emit(Op::kAdd, {total, ss}, {}, "adamw.gsq_total");
  }
  s.grad_norm = e.Emit(Op::kSqrt, {total}, {}, "adamw.grad_norm");
  s.clip_coef = -1;
  if (o.clip_norm > 0) {
    ValueId denom = e.Emit(Op::kAdd, {s.grad_norm, e.Constant(1e-6, scalar, "adamw.norm_eps")}, {},
                           "adamw.grad_norm_eps");
    ValueId ratio = e.Emit(Op::kDiv, {e.Constant(o.clip_norm, scalar, "adamw.clip_norm"), denom},
                           {}, "adamw.clip_ratio");
    s.clip_coef = e.Emit(Op::kMinimum, {one, ratio}, {}, "adamw.clip_coef");
  }
  // Bias corrections 1 - beta^t, with beta^t = exp(t ln beta).
  auto correction = [&](double beta, const char* name) {
    ValueId pow = e.Emit(Op::kExp,
                         {e.Emit(Op::kScale, {step}, {{"factor", std::log(beta)}},
                                 absl::StrCat("adamw.", name, "_tlog"))},
                         {}, absl::StrCat("adamw.", name, "_pow"));
    return e.Emit(Op::kSub, {one, pow}, {}, absl::StrCat("adamw.", name));
  };
  ValueId bc1 = correction(o.beta1, "bc1");
  ValueId bc2 = correction(o.beta2, "bc2");
  s.step_size = e.Emit(Op::kDiv, {s.lr, bc1}, {}, "adamw.step_size");
  s.sqrt_bc2 = e.Emit(Op::kSqrt, {bc2}, {}, "adamw.sqrt_bc2");
  return s;
}

void UpdateParam(ir::Emitter& e, const ParamGrad& pg, const Scalars& s, const AdamWOptions& o) {
  ir::Graph& g = e.graph();
  const std::string pname = g.value(pg.param).name;
  const std::string base = "adamw." + pname;
  const ir::TensorType t = g.value(pg.param).type;
  auto bc = [&](ValueId scalar, const char* what) {
    return Broadcast(e, scalar, t.shape, absl::StrCat(base, ".", what));
  };
  ValueId m = e.Decl(Op::kState, t, "m." + pname);
  ValueId v = e.Decl(Op::kState, t, "v." + pname);
  ValueId grad = pg.grad;
  if (s.clip_coef >= 0) grad = e.Emit(Op::kMul, {grad, bc(s.clip_coef, "clip")}, {}, base + ".g");
  ValueId p = pg.param;
  if (o.weight_decay > 0 && t.rank() >= 2) {
    ValueId lr_wd = e.Emit(Op::kScale, {s.lr}, {{"factor", o.weight_decay}}, base + ".lr_wd");
    p = e.Emit(Op::kSub, {p, e.Emit(Op::kMul, {p, bc(lr_wd, "lr_wd_b")}, {}, base + ".decay")}, {},
               base + ".decayed");
  }
  ValueId m_new = e.Emit(Op::kAdd,
                         {e.Emit(Op::kScale, {m}, {{"factor", o.beta1}}, base + ".m_old"),
                          e.Emit(Op::kScale, {grad}, {{"factor", 1 - o.beta1}}, base + ".m_g")},
                         {}, base + ".m");
  ValueId g2 = e.Emit(Op::kMul, {grad, grad}, {}, base + ".g2");
  ValueId v_new = e.Emit(Op::kAdd,
                         {e.Emit(Op::kScale, {v}, {{"factor", o.beta2}}, base + ".v_old"),
                          e.Emit(Op::kScale, {g2}, {{"factor", 1 - o.beta2}}, base + ".v_g")},
                         {}, base + ".v");
  ValueId denom =
      e.Emit(Op::kAdd,
             {e.Emit(Op::kDiv,
                     {e.Emit(Op::kSqrt, {v_new}, {}, base + ".v_sqrt"), bc(s.sqrt_bc2, "sqrt_bc2")},
                     {}, base + ".v_hat"),
              e.Constant(o.eps, t, base + ".eps")},
             {}, base + ".denom");
  ValueId delta =
      e.Emit(Op::kMul,
             {bc(s.step_size, "step_size"), e.Emit(Op::kDiv, {m_new, denom}, {}, base + ".ratio")},
             {}, base + ".delta");
  ValueId p_new = e.Emit(Op::kSub, {p, delta}, {}, base + ".new");
  g.AddUpdate(pg.param, p_new);
  g.AddUpdate(m, m_new);
  g.AddUpdate(v, v_new);
}

}  // namespace

absl::StatusOr<ir::Graph> AdamW(const ir::Graph& in, const AdamWOptions& o) {
  std::vector<ParamGrad> pgs;
  std::vector<std::string> missing;
  for (ValueId p : in.Params()) {
    auto grad = in.FindValue("grad." + in.value(p).name);
    if (!grad) {
      missing.push_back("%" + in.value(p).name);
      continue;
    }
    if (in.value(*grad).type != in.value(p).type)
      return absl::InvalidArgumentError(
          absl::StrCat("adamw: %grad.", in.value(p).name, " does not have its parameter's type"));
    pgs.push_back({p, *grad});
  }
  if (!missing.empty())
    return absl::InvalidArgumentError(absl::StrCat("adamw: no gradient (grad.<name>) for ",
                                                   absl::StrJoin(missing, ", "),
                                                   "; run autodiff first"));
  if (!in.updates().empty())
    return absl::InvalidArgumentError("adamw: the graph already has state updates");
  if (pgs.empty()) return in;  // no parameters: nothing to optimise
  ir::Graph g = in;
  ir::Emitter e(g);
  const Scalars s = BuildScalars(e, pgs, o);
  for (const ParamGrad& pg : pgs) UpdateParam(e, pg, s, o);
  std::vector<ValueId> outputs;
  for (ValueId v : g.outputs())
    if (!absl::StartsWith(g.value(v).name, "grad.")) outputs.push_back(v);
  outputs.push_back(s.grad_norm);
  g.set_outputs(outputs);
  return g;
}

}  // namespace gptc::passes
