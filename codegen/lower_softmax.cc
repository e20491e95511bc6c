// Softmax (optionally causal: key j is visible to query i when j <= i + Tk - Tq), its
// backward, and the mean cross-entropy of logits against integer targets with its backward.
#include <limits>

#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

constexpr float kLowest = -std::numeric_limits<float>::max();

}  // namespace

absl::Status Softmax(Ctx& c) {
  using ir::Op;
  const ir::Shape& xs = c.spec.inputs[0].shape;
  const int64_t k = xs.back(), rows = std::max<int64_t>(1, ir::NumElements(xs) / k);
  Var j("j"), row("r");
  RDom rj(0, static_cast<int>(k), "rj");
  Var ri;

  if (c.spec.op == Op::kSoftmax) {
    const bool causal = *c.spec.attrs.GetBool("causal");
    const int64_t tq = causal ? xs[xs.size() - 2] : 1;
    ImageParam x = c.Input(0, {rows, k});
    Expr last = causal ? Expr(row % static_cast<int>(tq) + static_cast<int>(k - tq)) : Expr(static_cast<int>(k - 1));
    Func lim("lim"), mx("mx"), e("e"), s("s"), out("out");
    lim(row) = last;
    mx(row) = maximum(select(rj <= lim(row), x(rj, row), kLowest));
    e(j, row) = select(j <= lim(row), exp(x(j, row) - mx(row)), 0.0f);
    s(row) = sum(e(rj, row));
    out(j, row) = e(j, row) / s(row);
    ScheduleRows(out, j, row, k, rows, c.vec, &ri);
    for (Func f : {lim, mx, s}) f.compute_at(out, ri);
    e.compute_at(out, ri);
    if (k >= c.vec) e.vectorize(j, c.vec, TailStrategy::GuardWithIf);
    c.Output(out, {rows, k});
    return absl::OkStatus();
  }
  if (c.spec.op == Op::kSoftmaxGrad) {  // dx = y * (dy - sum(y * dy))
    ImageParam y = c.Input(0, {rows, k});
    ImageParam dy = c.Input(1, {rows, k});
    Func dot("dot"), dx("dx");
    dot(row) = sum(y(rj, row) * dy(rj, row));
    dx(j, row) = y(j, row) * (dy(j, row) - dot(row));
    ScheduleRows(dx, j, row, k, rows, c.vec, &ri);
    dot.compute_at(dx, ri);
    c.Output(dx, {rows, k});
    return absl::OkStatus();
  }
  // softmax_xent and its gradient: logits [rows, k], targets [rows].
  ImageParam logits = c.Input(0, {rows, k});
  ImageParam targets = c.Input(1, {rows});
  Expr t = clamp(targets(row), 0, static_cast<int>(k - 1));
  Func mx("mx"), se("se");
  mx(row) = maximum(logits(rj, row));
  se(row) = sum(exp(logits(rj, row) - mx(row)));
  if (c.spec.op == Op::kSoftmaxXent) {
    Func row_loss("row_loss"), out("out");
    Var x("x");
    row_loss(row) = log(se(row)) + mx(row) - logits(t, row);
    RDom rr(0, static_cast<int>(rows), "rr");
    out(x) = sum(row_loss(rr)) / static_cast<float>(rows);
    row_loss.compute_root().parallel(row, static_cast<int>(std::max<int64_t>(1, rows / 16)));
    c.Output(out, {1});
    return absl::OkStatus();
  }
  ImageParam dloss = c.Input(2, {1});
  Func dl("dl");
  const float inv_rows = 1.0f / static_cast<float>(rows);
  dl(j, row) = (exp(logits(j, row) - mx(row)) / se(row) - select(j == t, 1.0f, 0.0f)) * dloss(0) * inv_rows;
  ScheduleRows(dl, j, row, k, rows, c.vec, &ri);
  mx.compute_at(dl, ri);
  se.compute_at(dl, ri);
  c.Output(dl, {rows, k});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
