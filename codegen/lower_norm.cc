// LayerNorm forward and backward over the last axis: rows in parallel, columns vectorised.
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

absl::Status Norm(Ctx& c) {
  const ir::Shape& xs = c.spec.inputs[0].shape;
  const int64_t cols = xs.back(), rows = std::max<int64_t>(1, ir::NumElements(xs) / cols);
  const float eps = static_cast<float>(*c.spec.attrs.GetFloat("eps"));
  const float inv_c = 1.0f / static_cast<float>(cols);
  ImageParam x = c.Input(0, {rows, cols});
  ImageParam w = c.Input(1, {cols});
  Var ch("c"), row("r");
  RDom rc(0, static_cast<int>(cols), "rc");
  Func mean("mean"), rstd("rstd");
  mean(row) = sum(x(rc, row)) * inv_c;
  rstd(row) = 1.0f / sqrt(sum((x(rc, row) - mean(row)) * (x(rc, row) - mean(row))) * inv_c + eps);

  if (c.spec.op == ir::Op::kLayerNorm) {
    ImageParam b = c.Input(2, {cols});
    Func out("out");
    out(ch, row) = (x(ch, row) - mean(row)) * rstd(row) * w(ch) + b(ch);
    Var ri;
    ScheduleRows(out, ch, row, cols, rows, c.vec, &ri);
    mean.compute_at(out, ri);
    rstd.compute_at(out, ri);
    c.Output(out, {rows, cols});
    return absl::OkStatus();
  }
  // layernorm_grad(x, w, dy) -> dx, dw, db
  ImageParam dy = c.Input(2, {rows, cols});
  Func xhat("xhat"), dxhat("dxhat"), m1("m1"), m2("m2"), dx("dx"), dw("dw"), db("db");
  xhat(ch, row) = (x(ch, row) - mean(row)) * rstd(row);
  dxhat(ch, row) = dy(ch, row) * w(ch);
  m1(row) = sum(dxhat(rc, row)) * inv_c;
  m2(row) = sum(dxhat(rc, row) * xhat(rc, row)) * inv_c;
  dx(ch, row) = rstd(row) * (dxhat(ch, row) - m1(row) - xhat(ch, row) * m2(row));
  RDom rr(0, static_cast<int>(rows), "rr");
  dw(ch) = sum(dy(ch, rr) * xhat(ch, rr));
  db(ch) = sum(dy(ch, rr));
  // Row statistics once for all three outputs.
  mean.compute_root().parallel(row);
  rstd.compute_root().parallel(row);
  Var ri;
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
