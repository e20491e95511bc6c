// AdamW over every parameter in one kernel (the `adamw` op; its math is ir/adamw_update.h,
// in float32 as the unfused kernels compute it):
//  1. the global gradient norm, a parallel sum of squares;
//  2. the scalars every element shares (clipping coefficient, bias-corrected step size);
//  3. the update, p, m and v written in place in one pass over each element.
// When the memory plan laid the parameters, gradients and both moments out as four blocks
// of identical layout (passes/plan.cc; KernelSpec::adamw_blocked), steps 1 and 3 are single
// loops over the whole block: the decayed parameters come first, so weight decay applies
// below one index. Otherwise each parameter is its own loop, still in this one kernel.
#include "absl/strings/str_cat.h"
#include "codegen/lower.h"
#include "ir/adamw_update.h"
#include "ir/literal.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

// The scalars of step 2, from lr, step and the sum of squared gradients.
struct Shared {
  Expr clip, step_size, sqrt_bc2, lr_wd;
};

Shared SharedScalars(Expr lr, Expr step, Expr sum_sq, const ir::AdamWHyper& h) {
  Shared s;
  const Expr norm = sqrt(sum_sq);
  s.clip = h.clip_norm > 0
               ? min(1.0f, static_cast<float>(h.clip_norm) / (norm + static_cast<float>(1e-6)))
               : Expr(1.0f);
  auto correction = [&](double beta) {
    return 1.0f - exp(step * static_cast<float>(std::log(beta)));
  };
  s.step_size = lr / correction(h.beta1);
  s.sqrt_bc2 = sqrt(correction(h.beta2));
  s.lr_wd = lr * static_cast<float>(h.weight_decay);
  return s;
}

// Step 2 from the sum of squares, both computed once per call; and the norm result.
struct Scalars {
  Func shared;  // Tuple(clip, step_size, sqrt_bc2, lr_wd)
  Func norm;    // norm(x), x = 0: the kernel's last result
};
Scalars BuildScalars(Expr sum_of_squares, Expr lr, Expr step, const ir::AdamWHyper& h) {
  Func sum_sq("sum_sq"), shared("shared"), norm("norm");
  Var x("x");
  sum_sq() = sum_of_squares;
  sum_sq.compute_root();
  const Shared s = SharedScalars(lr, step, sum_sq(), h);
  shared() = Tuple(s.clip, s.step_size, s.sqrt_bc2, s.lr_wd);
  shared.compute_root();
  norm(x) = sqrt(sum_sq());
  return {shared, norm};
}

// One element's new (p, m, v), in ir/adamw_update.h's order of operations.
Tuple Update(Expr p, Expr g, Expr m, Expr v, Expr decays, const Func& shared,
             const ir::AdamWHyper& h) {
  const Expr clip = shared()[0], step_size = shared()[1], sqrt_bc2 = shared()[2],
             lr_wd = shared()[3];
  const Expr gc = g * clip;
  const Expr p1 = select(decays, p - p * lr_wd, p);
  const Expr m_new = m * static_cast<float>(h.beta1) + gc * static_cast<float>(1 - h.beta1);
  const Expr v_new = v * static_cast<float>(h.beta2) + (gc * gc) * static_cast<float>(1 - h.beta2);
  const Expr denom = sqrt(v_new) / sqrt_bc2 + static_cast<float>(h.eps);
  return Tuple(p1 - step_size * (m_new / denom), m_new, v_new);
}

// The gradient norm's sum of squares, in one fixed order that both forms of the kernel
// follow, so they agree bit for bit (planned and unplanned runs are compared so): per
// parameter, 16 lanes each summing the squares of elements r = 16 j + lane in increasing j,
// then the lanes in order, then the parameters in order.
constexpr int kLanes = 16;

Expr SumLanes(const std::function<Expr(int)>& lane) {
  Expr sum = lane(0);
  for (int q = 1; q < kLanes; ++q) sum = sum + lane(q);
  return sum;
}

// The sum of squares of one parameter's gradient g, n elements.
Expr ParamSquares(const std::string& name, ImageParam g, int64_t n) {
  Var l("l");
  RDom rv(0, static_cast<int>((n + kLanes - 1) / kLanes), name + "_r");
  Func lanes(name);
  const Expr r = rv * kLanes + l;
  const Expr gx = g(min(r, static_cast<int>(n - 1)));
  lanes(l) = 0.0f;
  lanes(l) += select(r < static_cast<int>(n), gx * gx, 0.0f);
  lanes.compute_root().vectorize(l, kLanes);
  lanes.update().vectorize(l, kLanes);
  return SumLanes([&](int q) { return lanes(q); });
}

}  // namespace

absl::Status AdamW(Ctx& c) {
  const size_t k = (c.spec.inputs.size() - 2) / 4;
  const ir::AdamWHyper h = ir::AdamWHyper::FromAttrs(c.spec.attrs);
  const std::vector<int64_t> decays = *c.spec.attrs.GetInts("decay");  // verified: one each
  // No contraction of a * b + c into one fma, which LLVM may do in one loop shape and not
  // another: the blocked and per-parameter forms give bit-identical parameters (tested), as
  // the unfused kernels do. The kernel is bound by memory, so this costs nothing.
  c.target = c.target.with_feature(Target::StrictFloat);
  ImageParam lr = c.Input(0, {1}), step = c.Input(1, {1});
  Var x("x");
  if (c.spec.adamw_blocked) {
    // Four blocks of n elements (the decayed parameters' `decayed` first: KernelSpec makes
    // the blocked form only then), bound through each block's first parameter; the
    // executable checks the blocks are contiguous.
    int64_t n = 0, decayed = 0;
    for (size_t i = 0; i < k; ++i) {
      const ir::TensorType& t = c.spec.inputs[2 + 4 * i];
      if (decays[i]) decayed += t.num_elements();
      n += t.num_elements();
    }
    ImageParam p = c.Input(2, {n}), g = c.Input(3, {n}), m = c.Input(4, {n}), v = c.Input(5, {n});
    // The same lane sums for every parameter in one Func over (lane, parameter); the loop
    // over a parameter's elements is bounded per parameter (an RDom `where` on the outer
    // parameter index becomes the loop bound). Offsets and lengths are constant tables.
    // (72 separate reductions made this kernel take 14 s to compile at baby.)
    Buffer<int> offs(static_cast<int>(k)), lens(static_cast<int>(k));
    int64_t longest = 1, at = 0;
    for (size_t i = 0; i < k; ++i) {
      const int64_t ni = std::max<int64_t>(1, c.spec.inputs[2 + 4 * i].num_elements());
      offs(static_cast<int>(i)) = static_cast<int>(at);
      lens(static_cast<int>(i)) = static_cast<int>(ni);
      at += ni;
      longest = std::max(longest, ni);
    }
    Var l("l"), pi("pi");
    RDom rv(0, static_cast<int>((longest + kLanes - 1) / kLanes), "rv");
    rv.where(rv * kLanes < lens(pi));
    Func lanes("lanes"), psum("psum");
    const Expr r = rv * kLanes + l;
    const Expr gx = g(clamp(offs(pi) + min(r, lens(pi) - 1), 0, static_cast<int>(n - 1)));
    lanes(l, pi) = 0.0f;
    lanes(l, pi) += select(r < lens(pi), gx * gx, 0.0f);
    lanes.compute_root().vectorize(l, kLanes);
    lanes.update().reorder(l, rv, pi).vectorize(l, kLanes).parallel(pi);
    psum(pi) = SumLanes([&](int q) { return lanes(q, pi); });
    psum.compute_root();
    Expr total = psum(0);
    for (size_t i = 1; i < k; ++i) total = total + psum(static_cast<int>(i));
    const Scalars sc = BuildScalars(total, lr(0), step(0), h);
    Func upd("upd");
    upd(x) = Update(p(x), g(x), m(x), v(x), x < static_cast<int>(decayed), sc.shared, h);
    ScheduleFlat(upd, x, n, c.vec);
    c.BindOutputs({0, 1, 2, static_cast<int>(3 * k)});
    c.OutputTuple(upd, {n});
    c.Output(sc.norm, {1});
    return absl::OkStatus();
  }
  // One loop per parameter.
  std::vector<ImageParam> p(k), g(k), m(k), v(k);
  Expr total;
  for (size_t i = 0; i < k; ++i) {
    const int64_t n = std::max<int64_t>(1, c.spec.inputs[2 + 4 * i].num_elements());
    p[i] = c.Input(static_cast<int>(2 + 4 * i), {n});
    g[i] = c.Input(static_cast<int>(3 + 4 * i), {n});
    m[i] = c.Input(static_cast<int>(4 + 4 * i), {n});
    v[i] = c.Input(static_cast<int>(5 + 4 * i), {n});
    const Expr si = ParamSquares(absl::StrCat("lanes", i), g[i], n);
    total = total.defined() ? total + si : si;
  }
  const Scalars sc = BuildScalars(total, lr(0), step(0), h);
  for (size_t i = 0; i < k; ++i) {
    const ir::TensorType& t = c.spec.inputs[2 + 4 * i];
    const int64_t n = std::max<int64_t>(1, t.num_elements());
    Func upd(absl::StrCat("upd", i));
    upd(x) = Update(p[i](x), g[i](x), m[i](x), v[i](x), Expr(decays[i] != 0), sc.shared, h);
    ScheduleFlat(upd, x, n, c.vec);
    c.OutputTuple(upd, {n});
  }
  c.Output(sc.norm, {1});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
