// Softmax and the causal mask, cross-entropy, their gradients, and the fused kernels that
// combine them (scale + mask + softmax, softmax + cross-entropy). Rows are independent: they
// run in parallel blocks, columns vectorised, each row's reductions computed at the row.
//
// Causal visibility: key j is visible to query i when j <= i + Tk - Tq (rows are (..., Tq)).
#include <limits>

#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

constexpr float kLowest = -std::numeric_limits<float>::max();

struct Rows {
  int64_t rows, k;
};

Rows RowsOf(const ir::Shape& s) {
  const int64_t k = s.back();
  return {std::max<int64_t>(1, ir::NumElements(s) / k), k};
}

// The last visible key of each row of a [..., Tq, Tk] tensor seen as [rows, Tk].
Expr LastVisible(Var row, const ir::Shape& s) {
  const int64_t tq = s[s.size() - 2], tk = s.back();
  return row % static_cast<int>(tq) + static_cast<int>(tk - tq);
}

// softmax over the columns j <= last of x(j, row) (all columns when `last` is undefined).
// Masked columns are excluded from max and sum, and their probability is exactly 0.
Func MaskedSoftmax(Func x, Expr last, const Rows& r, Var j, Var row, Ctx& c) {
  const bool masked = last.defined();
  Func mx = VecReduce(
      "mx", ReduceKind::kMax,
      [&](Expr jj) { return masked ? select(jj <= last, x(jj, row), kLowest) : x(jj, row); }, r.k,
      c.vec, {row});
  // exp(-inf) is not reliably 0 in Halide's exp, so the unfused -inf entries of a causal
  // mask are zeroed explicitly too.
  Func e("e"), out("out");
  Expr v = x(j, row);
  Expr ex = select(v == -std::numeric_limits<float>::infinity(), 0.0f, exp(v - mx(row)));
  e(j, row) = masked ? select(j <= last, ex, 0.0f) : ex;
  Func s = VecReduce("s", ReduceKind::kSum, [&](Expr jj) { return e(jj, row); }, r.k, c.vec, {row});
  out(j, row) = e(j, row) * (1.0f / s(row));
  Var ri;
  ScheduleRows(out, j, row, r.k, r.rows, c.vec, &ri);
  mx.compute_at(out, ri);
  s.compute_at(out, ri);
  e.compute_at(out, ri);
  if (r.k >= c.vec) e.vectorize(j, c.vec, TailStrategy::GuardWithIf);
  return out;
}

}  // namespace

absl::Status Softmax(Ctx& c) {
  using ir::Op;
  const ir::Shape& xs = c.spec.inputs[0].shape;
  const Rows r = RowsOf(xs);
  Var j("j"), row("r"), ri("ri");
  switch (ir::As<ir::SoftmaxOp>(c.spec.op)) {
    case ir::SoftmaxOp::kSoftmax: {
      ImageParam x = c.Input(0, {r.rows, r.k});
      Func xf("xf");
      xf(j, row) = x(j, row);
      c.Output(MaskedSoftmax(xf, Expr(), r, j, row, c), {r.rows, r.k});
      return absl::OkStatus();
    }
    // softmax(causal_mask(scale * x)); the mask is never stored
    case ir::SoftmaxOp::kScaleMaskSoftmax: {
      ImageParam x = c.Input(0, {r.rows, r.k});
      const float scale = static_cast<float>(*c.spec.attrs.GetFloat("scale"));
      Func xf("xf");
      xf(j, row) = x(j, row) * scale;
      c.Output(MaskedSoftmax(xf, LastVisible(row, xs), r, j, row, c), {r.rows, r.k});
      return absl::OkStatus();
    }
    case ir::SoftmaxOp::kCausalMask: {
      ImageParam x = c.Input(0, {r.rows, r.k});
      const float fill = static_cast<float>(*c.spec.attrs.GetFloat("fill"));
      Func out("out");
      out(j, row) = select(j <= LastVisible(row, xs), x(j, row), fill);
      ScheduleRows(out, j, row, r.k, r.rows, c.vec, &ri);
      c.Output(out, {r.rows, r.k});
      return absl::OkStatus();
    }
    case ir::SoftmaxOp::kSoftmaxGrad:             // dx = y * (dy - sum(y * dy))
    case ir::SoftmaxOp::kScaleMaskSoftmaxGrad: {  // the same, masked, times the forward scale
      ImageParam y = c.Input(0, {r.rows, r.k});
      ImageParam dy = c.Input(1, {r.rows, r.k});
      Func dx("dx");
      Func dot = VecReduce("dot", ReduceKind::kSum,
                           [&](Expr jj) { return y(jj, row) * dy(jj, row); }, r.k, c.vec, {row});
      Expr g = y(j, row) * (dy(j, row) - dot(row));
      if (c.spec.op == Op::kScaleMaskSoftmaxGrad)
        g = select(j <= LastVisible(row, xs), g, 0.0f) *
            static_cast<float>(*c.spec.attrs.GetFloat("scale"));
      dx(j, row) = g;
      ScheduleRows(dx, j, row, r.k, r.rows, c.vec, &ri);
      dot.compute_at(dx, ri);
      c.Output(dx, {r.rows, r.k});
      return absl::OkStatus();
    }
  }
  return absl::UnimplementedError("codegen: not a softmax op");
}

// Cross-entropy: probs or logits [rows, k], targets [rows]. Targets are range-checked on the
// host before a step; the clamp only keeps a bad one in bounds.
absl::Status Loss(Ctx& c) {
  using ir::Op;
  const Rows r = RowsOf(c.spec.inputs[0].shape);
  Var j("j"), row("r"), ri("ri");
  ImageParam p = c.Input(0, {r.rows, r.k});
  ImageParam targets = c.Input(1, {r.rows});
  Expr t = clamp(targets(row), 0, static_cast<int>(r.k - 1));
  const float inv_rows = 1.0f / static_cast<float>(r.rows);
  RDom rr(0, static_cast<int>(r.rows), "rr");
  Var x("x");
  Func row_loss("row_loss"), out("out");
  Func mx =
      VecReduce("mx", ReduceKind::kMax, [&](Expr jj) { return p(jj, row); }, r.k, c.vec, {row});
  Func se = VecReduce("se", ReduceKind::kSum, [&](Expr jj) { return exp(p(jj, row) - mx(row)); },
                      r.k, c.vec, {row});
  switch (ir::As<ir::LossOp>(c.spec.op)) {
    case ir::LossOp::kXent:           // mean of -log p[t]
    case ir::LossOp::kSoftmaxXent: {  // mean of log-sum-exp - logit[t], never forming probabilities
      row_loss(row) = c.spec.op == Op::kXent ? -log(p(t, row)) : log(se(row)) + mx(row) - p(t, row);
      out(x) = sum(row_loss(rr)) * inv_rows;
      row_loss.compute_root().parallel(row, static_cast<int>(std::max<int64_t>(1, r.rows / 16)));
      if (c.spec.op == Op::kSoftmaxXent) {
        mx.compute_at(row_loss, row);
        se.compute_at(row_loss, row);
      }
      c.Output(out, {1});
      return absl::OkStatus();
    }
    case ir::LossOp::kXentGrad: {  // -dloss / (N p[t]) at the target, 0 elsewhere
      ImageParam dloss = c.Input(2, {1});
      out(j, row) = select(j == t, -dloss(0) * inv_rows / p(j, row), 0.0f);
      ScheduleRows(out, j, row, r.k, r.rows, c.vec, &ri);
      c.Output(out, {r.rows, r.k});
      return absl::OkStatus();
    }
    case ir::LossOp::kSoftmaxXentGrad: {  // (softmax - onehot(t)) * dloss / N, as llm.c's backward
      ImageParam dloss = c.Input(2, {1});
      // Rounded to bf16 where the node stores it so (the GEMMs read the logits' gradient).
      out(j, row) = c.Stored(0, (exp(p(j, row) - mx(row)) / se(row) - select(j == t, 1.0f, 0.0f)) *
                                    dloss(0) * inv_rows);
      ScheduleRows(out, j, row, r.k, r.rows, c.vec, &ri);
      mx.compute_at(out, ri);
      se.compute_at(out, ri);
      c.Output(out, {r.rows, r.k});
      return absl::OkStatus();
    }
  }
  return absl::UnimplementedError("codegen: not a cross-entropy op");
}

}  // namespace gptc::codegen::lower
