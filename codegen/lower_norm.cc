// LayerNorm over the last axis, forward and backward, plain and fused with the residual add:
// rows in parallel blocks, columns vectorised, each row's statistics computed at the row.
//
// add_layernorm writes s = a + b and layernorm(s) from one loop nest (a Tuple): s is formed
// once per row in a row-sized scratch and read three times from L1 (mean, variance, output)
// instead of making a round trip through memory between two kernels.
// add_layernorm_grad adds the residual gradient into dx in the same pass.
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

absl::Status Norm(Ctx& c) {
  using ir::Op;
  const Op op = c.spec.op;
  const ir::Shape& xs = c.spec.inputs[0].shape;
  const int64_t cols = xs.back(), rows = std::max<int64_t>(1, ir::NumElements(xs) / cols);
  const float eps = static_cast<float>(*c.spec.attrs.GetFloat("eps"));
  const float inv_c = 1.0f / static_cast<float>(cols);
  Var ch("c"), row("r"), ri;
  RDom rc(0, static_cast<int>(cols), "rc");
  Func x("x"), mean("mean"), rstd("rstd");
  // The normalised input: a + b for add_layernorm, the first operand otherwise.
  const bool fused_add = op == Op::kAddLayerNorm;
  ImageParam a = c.Input(0, {rows, cols});
  if (fused_add) {
    ImageParam b = c.Input(1, {rows, cols});
    x(ch, row) = a(ch, row) + b(ch, row);
  } else {
    x(ch, row) = a(ch, row);
  }
  mean(row) = sum(x(rc, row)) * inv_c;
  rstd(row) = 1.0f / sqrt(sum((x(rc, row) - mean(row)) * (x(rc, row) - mean(row))) * inv_c + eps);

  if (op == Op::kLayerNorm || op == Op::kAddLayerNorm) {
    const int w_at = fused_add ? 2 : 1;
    ImageParam w = c.Input(w_at, {cols});
    ImageParam bias = c.Input(w_at + 1, {cols});
    Func out("out");
    Expr y = (x(ch, row) - mean(row)) * rstd(row) * w(ch) + bias(ch);
    if (fused_add) {
      out(ch, row) = Tuple(x(ch, row), y);
    } else {
      out(ch, row) = y;
    }
    ScheduleRows(out, ch, row, cols, rows, c.vec, &ri);
    mean.compute_at(out, ri);
    rstd.compute_at(out, ri);
    if (fused_add) {
      x.compute_at(out, ri);
      if (cols >= c.vec) x.vectorize(ch, c.vec, TailStrategy::GuardWithIf);
      c.OutputTuple(out, {rows, cols});
    } else {
      c.Output(out, {rows, cols});
    }
    return absl::OkStatus();
  }
  // layernorm_grad(x, w, dy) -> dx, dw, db; add_layernorm_grad(x, w, dy, dres) -> dx + dres, dw, db
  ImageParam w = c.Input(1, {cols});
  ImageParam dy = c.Input(2, {rows, cols});
  Func xhat("xhat"), dxhat("dxhat"), m1("m1"), m2("m2"), dx("dx"), dw("dw"), db("db");
  xhat(ch, row) = (x(ch, row) - mean(row)) * rstd(row);
  dxhat(ch, row) = dy(ch, row) * w(ch);
  m1(row) = sum(dxhat(rc, row)) * inv_c;
  m2(row) = sum(dxhat(rc, row) * xhat(rc, row)) * inv_c;
  Expr g = rstd(row) * (dxhat(ch, row) - m1(row) - xhat(ch, row) * m2(row));
  if (op == Op::kAddLayerNormGrad) {
    ImageParam dres = c.Input(3, {rows, cols});
    g = g + dres(ch, row);
  }
  dx(ch, row) = g;
  RDom rr(0, static_cast<int>(rows), "rr");
  dw(ch) = sum(dy(ch, rr) * xhat(ch, rr));
  db(ch) = sum(dy(ch, rr));
  // Row statistics once for all three outputs.
  mean.compute_root().parallel(row);
  rstd.compute_root().parallel(row);
  ScheduleRows(dx, ch, row, cols, rows, c.vec, &ri);
  m1.compute_at(dx, ri);
  m2.compute_at(dx, ri);
  for (Func f : {dw, db}) {
    if (cols >= c.vec) {
      Var co("co"), ci("ci");
      f.split(ch, co, ci, c.vec, TailStrategy::GuardWithIf).vectorize(ci).parallel(co);
    }
  }
  c.Output(dx, {rows, cols});
  c.Output(dw, {cols});
  c.Output(db, {cols});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
