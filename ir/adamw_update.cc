#include "ir/adamw_update.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace gptc::ir {
namespace {

ValueId Broadcast(Emitter& e, ValueId scalar, const Shape& shape, const std::string& name) {
  if (shape.empty()) return scalar;
  return e.Emit(Op::kBroadcast, {scalar}, {{"shape", shape}}, name);
}

ValueId SumAll(Emitter& e, ValueId x, const std::string& name) {
  const int64_t n = e.type(x).num_elements();
  ValueId flat = e.Emit(Op::kReshape, {x}, {{"shape", Shape{n}}}, name + ".flat");
  return e.Emit(Op::kSum, {flat}, {{"axis", int64_t{0}}}, name);
}

// Scalars shared by every parameter's update.
struct Scalars {
  ValueId lr, grad_norm, clip_coef, step_size, sqrt_bc2;
};

Scalars BuildScalars(Emitter& e, ValueId lr, ValueId step, const std::vector<AdamWSlot>& slots,
                     const AdamWHyper& o) {
  const TensorType scalar = F32({});
  Scalars s;
  s.lr = lr;
  ValueId one = e.Constant(1.0, scalar, "adamw.one");
  // The global gradient norm: the clipping coefficient's input, and a graph output so the
  // trainer can stop on a non-finite one (a NaN anywhere in the gradients reaches it).
  ValueId total = -1;
  for (const AdamWSlot& sl : slots) {
    const std::string base = "adamw." + e.graph().value(sl.p).name;
    ValueId sq = e.Emit(Op::kMul, {sl.g, sl.g}, {}, base + ".gsq");
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

void UpdateSlot(Emitter& e, const AdamWSlot& sl, const Scalars& s, const AdamWHyper& o,
                AdamWResult& r) {
  const std::string base = "adamw." + e.graph().value(sl.p).name;
  const TensorType t = e.type(sl.p);
  auto bc = [&](ValueId scalar, const char* what) {
    return Broadcast(e, scalar, t.shape, absl::StrCat(base, ".", what));
  };
  ValueId grad = sl.g;
  if (s.clip_coef >= 0) grad = e.Emit(Op::kMul, {grad, bc(s.clip_coef, "clip")}, {}, base + ".g");
  ValueId p = sl.p;
  if (o.weight_decay > 0 && sl.decay) {
    ValueId lr_wd = e.Emit(Op::kScale, {s.lr}, {{"factor", o.weight_decay}}, base + ".lr_wd");
    p = e.Emit(Op::kSub, {p, e.Emit(Op::kMul, {p, bc(lr_wd, "lr_wd_b")}, {}, base + ".decay")}, {},
               base + ".decayed");
  }
  ValueId m_new = e.Emit(Op::kAdd,
                         {e.Emit(Op::kScale, {sl.m}, {{"factor", o.beta1}}, base + ".m_old"),
                          e.Emit(Op::kScale, {grad}, {{"factor", 1 - o.beta1}}, base + ".m_g")},
                         {}, base + ".m");
  ValueId g2 = e.Emit(Op::kMul, {grad, grad}, {}, base + ".g2");
  ValueId v_new = e.Emit(Op::kAdd,
                         {e.Emit(Op::kScale, {sl.v}, {{"factor", o.beta2}}, base + ".v_old"),
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
  r.p.push_back(e.Emit(Op::kSub, {p, delta}, {}, base + ".new"));
  r.m.push_back(m_new);
  r.v.push_back(v_new);
}

}  // namespace

Attrs AdamWHyper::ToAttrs() const {
  Attrs a;
  a.Set("beta1", beta1);
  a.Set("beta2", beta2);
  a.Set("eps", eps);
  a.Set("weight_decay", weight_decay);
  a.Set("clip_norm", clip_norm);
  return a;
}

AdamWHyper AdamWHyper::FromAttrs(const Attrs& a) {
  AdamWHyper h;
  h.beta1 = a.GetFloat("beta1").value_or(h.beta1);
  h.beta2 = a.GetFloat("beta2").value_or(h.beta2);
  h.eps = a.GetFloat("eps").value_or(h.eps);
  h.weight_decay = a.GetFloat("weight_decay").value_or(h.weight_decay);
  h.clip_norm = a.GetFloat("clip_norm").value_or(h.clip_norm);
  return h;
}

bool ParamDecays(const Graph& g, ValueId p) {
  const Node& n = g.node(g.value(p).producer);
  return n.op == Op::kParam && n.attrs.GetBool("decay").value_or(false);
}

AdamWResult EmitAdamWUpdate(Emitter& e, ValueId lr, ValueId step,
                            const std::vector<AdamWSlot>& slots, const AdamWHyper& h) {
  AdamWResult r;
  const Scalars s = BuildScalars(e, lr, step, slots, h);
  r.grad_norm = s.grad_norm;
  for (const AdamWSlot& sl : slots) UpdateSlot(e, sl, s, h, r);
  return r;
}

}  // namespace gptc::ir
