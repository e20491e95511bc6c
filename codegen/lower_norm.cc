// LayerNorm over the last axis, forward and backward, plain and fused with the residual add:
// rows in parallel blocks, columns vectorised, each row's statistics computed at the row
// with vector-lane reductions.
//
// add_layernorm writes s = a + b and layernorm(s) from one loop nest (a Tuple): s is formed
// once per row in a row-sized scratch and read three times from L1 (mean, variance, output)
// instead of making a round trip through memory between two kernels.
// add_layernorm_grad adds the residual gradient into dx in the same pass.
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

// mean(row) and rstd(row) of x(·, row); each consumer loop gets its own copy (`tag`), so it
// can be computed inside that loop, per row, from data already in L1.
struct RowStats {
  Func xsum, mean, vsum, rstd;
  void ComputeAt(Func f, Var v) const {
    for (Func s : {xsum, mean, vsum, rstd}) s.compute_at(f, v);
  }
  void ComputeAt(Func f, RVar v) const {
    for (Func s : {xsum, mean, vsum, rstd}) s.compute_at(f, v);
  }
};

RowStats Stats(const std::string& tag, Func x, Var row, int64_t cols, float eps, int vec) {
  const float inv_c = 1.0f / static_cast<float>(cols);
  RowStats s;
  s.xsum = VecReduce("xsum" + tag, ReduceKind::kSum, [&](Expr j) { return x(j, row); }, cols, vec,
                     {row});
  s.mean = Func("mean" + tag);
  s.mean(row) = s.xsum(row) * inv_c;
  Func mean = s.mean;
  s.vsum = VecReduce("vsum" + tag, ReduceKind::kSum,
                     [&](Expr j) { return (x(j, row) - mean(row)) * (x(j, row) - mean(row)); },
                     cols, vec, {row});
  s.rstd = Func("rstd" + tag);
  s.rstd(row) = 1.0f / sqrt(s.vsum(row) * inv_c + eps);
  return s;
}

}  // namespace

absl::Status Norm(Ctx& c) {
  using ir::Op;
  const Op op = c.spec.op;
  const ir::Shape& xs = c.spec.inputs[0].shape;
  const int64_t cols = xs.back(), rows = std::max<int64_t>(1, ir::NumElements(xs) / cols);
  const float eps = static_cast<float>(*c.spec.attrs.GetFloat("eps"));
  const float inv_c = 1.0f / static_cast<float>(cols);
  Var ch("c"), row("r"), ri;
  Func x("x");
  // The normalised input: a + b for add_layernorm, the first operand otherwise.
  const bool fused_add = op == Op::kAddLayerNorm;
  ImageParam a = c.Input(0, {rows, cols});
  if (fused_add) {
    ImageParam b = c.Input(1, {rows, cols});
    x(ch, row) = a(ch, row) + b(ch, row);
  } else {
    x(ch, row) = a(ch, row);
  }

  if (op == Op::kLayerNorm || op == Op::kAddLayerNorm) {
    const RowStats st = Stats("", x, row, cols, eps, c.vec);
    const int w_at = fused_add ? 2 : 1;
    ImageParam w = c.Input(w_at, {cols});
    ImageParam bias = c.Input(w_at + 1, {cols});
    Func out("out");
    Expr y = (x(ch, row) - st.mean(row)) * st.rstd(row) * w(ch) + bias(ch);
    if (fused_add) {  // s and the norm, each with any bf16 copies the node yields
      std::vector<Expr> values = c.WithCopies(0, x(ch, row)), norm = c.WithCopies(1, y);
      std::vector<int> results = c.ResultsOf(0), of_norm = c.ResultsOf(1);
      values.insert(values.end(), norm.begin(), norm.end());
      results.insert(results.end(), of_norm.begin(), of_norm.end());
      out(ch, row) = Tuple(values);
      c.BindOutputs(results);
    } else {
      out(ch, row) = y;
    }
    ScheduleRows(out, ch, row, cols, rows, c.vec, &ri);
    st.ComputeAt(out, ri);
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
  const RowStats st = Stats("", x, row, cols, eps, c.vec);
  Func xhat("xhat"), dxhat("dxhat"), dx("dx"), dw("dw"), db("db");
  xhat(ch, row) = (x(ch, row) - st.mean(row)) * st.rstd(row);
  dxhat(ch, row) = dy(ch, row) * w(ch);
  Func m1 =
      VecReduce("m1", ReduceKind::kSum, [&](Expr j) { return dxhat(j, row); }, cols, c.vec, {row});
  Func m2 = VecReduce("m2", ReduceKind::kSum, [&](Expr j) { return dxhat(j, row) * xhat(j, row); },
                      cols, c.vec, {row});
  Expr g = st.rstd(row) * (dxhat(ch, row) - m1(row) * inv_c - xhat(ch, row) * m2(row) * inv_c);
  if (op == Op::kAddLayerNormGrad) {
    ImageParam dres = c.Input(3, {rows, cols});
    g = g + dres(ch, row);
  }
  // dx (add_layernorm_grad: with any bf16 copies the node yields), then dw and db.
  const std::vector<Expr> dx_values = c.WithCopies(0, g);
  if (dx_values.size() == 1) {
    dx(ch, row) = dx_values[0];
  } else {
    dx(ch, row) = Tuple(dx_values);
  }
  std::vector<int> results = c.ResultsOf(0);
  results.insert(results.end(), {1, 2});
  c.BindOutputs(results);
  ScheduleRows(dx, ch, row, cols, rows, c.vec, &ri);
  st.ComputeAt(dx, ri);
  m1.compute_at(dx, ri);
  m2.compute_at(dx, ri);

  // dw, db: column sums over rows, in two stages: blocks of consecutive rows in parallel, each
  // reading its rows once and accumulating both sums as vectors of columns (the row
  // statistics recomputed per row from L1 rather than stored for all rows), then the blocks.
  const RowStats pst = Stats("_p", x, row, cols, eps, c.vec);
  Func xhat_p("xhat_p");
  xhat_p(ch, row) = (x(ch, row) - pst.mean(row)) * pst.rstd(row);
  const int64_t blocks = std::min<int64_t>(rows, 16), per_block = (rows + blocks - 1) / blocks;
  Var rb("rb");
  RDom rr(0, static_cast<int>(per_block), "rr");
  Expr r_at = min(rb * static_cast<int>(per_block) + rr, static_cast<int>(rows - 1));
  Expr live = rb * static_cast<int>(per_block) + rr <
              static_cast<int>(rows);  // the last block may be short
  Func part("part");
  part(ch, rb) = Tuple(0.0f, 0.0f);
  part(ch, rb) = Tuple(part(ch, rb)[0] + select(live, dy(ch, r_at) * xhat_p(ch, r_at), 0.0f),
                       part(ch, rb)[1] + select(live, dy(ch, r_at), 0.0f));
  RDom rbs(0, static_cast<int>(blocks), "rbs");
  dw(ch) = sum(part(ch, rbs)[0]);
  db(ch) = sum(part(ch, rbs)[1]);
  part.compute_root().parallel(rb);
  part.update().reorder(ch, rr, rb).parallel(rb);
  pst.ComputeAt(part, rr);
  if (cols >= c.vec) {
    part.vectorize(ch, c.vec, TailStrategy::GuardWithIf);
    part.update().vectorize(ch, c.vec, TailStrategy::GuardWithIf);
    for (Func f : {dw, db}) f.vectorize(ch, c.vec, TailStrategy::GuardWithIf);
  }
  c.OutputTuple(dx, {rows, cols});
  c.Output(dw, {cols});
  c.Output(db, {cols});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
