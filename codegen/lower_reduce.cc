// Reductions over one axis of an (outer, len, inner) domain, for the sum/mean/max ops and for
// fusions that end in a reduction. The schedule follows the shape:
//  - inner == 1 (the axis is contiguous): vector-lane partials per row (VecReduce); a single
//    long row (a parameter's sum of squares, millions of elements) is cut into chunks summed
//    in parallel.
//  - inner >= one vector (a column sum, e.g. a bias gradient over B*T rows): rows are added
//    into a row of vector accumulators, one pass over memory; with few outer rows, blocks of
//    the axis run in parallel into partial rows, then the partials are added.
// Halide's inline sum() would instead run each output element's reduction as one serial
// dependency chain, and on one core when outer == 1.
#include <limits>

#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

// Below this many elements a reduction runs on one thread (a parallel loop costs ~1 us).
constexpr int64_t kParallelWork = 1 << 15;
// Parallel chunks when the outer extent gives too few tasks.
constexpr int64_t kChunks = 16;

Expr Combine(ReduceKind k, Expr a, Expr b) { return k == ReduceKind::kSum ? a + b : max(a, b); }
Expr Identity(ReduceKind k) {
  return k == ReduceKind::kSum ? Expr(0.0f) : Expr(-std::numeric_limits<float>::max());
}

}  // namespace

Func ReduceAxis(ReduceKind kind, const std::function<Expr(Expr, Expr, Expr)>& value, int64_t outer,
                int64_t len, int64_t inner, int vec, Var i, Var o) {
  const int64_t work = outer * len * inner;
  const bool few_rows = outer < 4;
  Func out("out");
  if (inner == 1) {
    if (few_rows && len >= kParallelWork) {
      const int64_t per = (len + kChunks - 1) / kChunks;
      Var rb("rb");
      Func part = VecReduce("chunk", kind,
                            [&](Expr j) {
                              Expr at = rb * static_cast<int>(per) + j;
                              return select(at < static_cast<int>(len),
                                            value(0, min(at, static_cast<int>(len - 1)), o),
                                            Identity(kind));
                            },
                            per, vec, {rb, o});
      Expr acc = Identity(kind);
      for (int b = 0; b < kChunks; ++b) acc = Combine(kind, acc, part(b, o));
      out(i, o) = acc;
      part.compute_root().parallel(rb);
      return out;
    }
    Func row = VecReduce("row", kind, [&](Expr j) { return value(0, j, o); }, len, vec, {o});
    out(i, o) = row(o);
    row.compute_at(out, o);
    if (outer > 1 && work >= kParallelWork) out.parallel(o);
    return out;
  }
  if (inner < vec) {  // narrow columns: plain per-element reductions
    RDom r(0, static_cast<int>(len), "r");
    out(i, o) = kind == ReduceKind::kSum ? sum(value(i, r, o)) : maximum(value(i, r, o));
    if (outer > 1 && work >= kParallelWork) out.parallel(o);
    return out;
  }
  // Column sums: accumulate rows of vectors. Split the axis into parallel blocks when the
  // outer rows alone give too few tasks.
  const int64_t blocks = few_rows && work >= kParallelWork && len >= 2 * kChunks ? kChunks : 1;
  const int64_t per = (len + blocks - 1) / blocks;
  Var rb("rb");
  RDom rr(0, static_cast<int>(per), "rr");
  Expr at = rb * static_cast<int>(per) + rr;
  Func part("part");
  part(i, o, rb) = Identity(kind);
  Expr v = value(i, min(at, static_cast<int>(len - 1)), o);
  part(i, o, rb) = Combine(kind, part(i, o, rb),
                           blocks > 1 ? select(at < static_cast<int>(len), v, Identity(kind)) : v);
  RDom rbs(0, static_cast<int>(blocks), "rbs");
  out(i, o) = kind == ReduceKind::kSum ? sum(part(i, o, rbs)) : maximum(part(i, o, rbs));
  part.compute_root();
  part.update().reorder(i, rr, o, rb);
  part.vectorize(i, vec, TailStrategy::GuardWithIf);
  part.update().vectorize(i, vec, TailStrategy::GuardWithIf);
  out.vectorize(i, vec, TailStrategy::GuardWithIf);
  if (blocks > 1) {
    part.parallel(rb);
    part.update().parallel(rb);
  } else if (outer > 1 && work >= kParallelWork) {
    part.parallel(o);
    part.update().parallel(o);
    out.parallel(o);
  }
  return out;
}

absl::Status Reduce(Ctx& c) {
  const int64_t axis = *c.spec.attrs.GetInt("axis");
  const ir::Shape& s = c.spec.inputs[0].shape;
  const ir::AxisSplit split = ir::SplitAround(s, axis);
  const int64_t outer = split.outer, len = split.len, inner = split.inner;
  ImageParam x = c.Input(0, {outer, len, inner});
  Var i("i"), o("o");
  const ReduceKind kind = c.spec.op == ir::Op::kMax ? ReduceKind::kMax : ReduceKind::kSum;
  // A mean sums the elements already divided by the length.
  const float scale = c.spec.op == ir::Op::kMean ? 1.0f / static_cast<float>(len) : 1.0f;
  Func r = ReduceAxis(
      kind, [&](Expr a, Expr b, Expr d) { return scale == 1.0f ? x(a, b, d) : x(a, b, d) * scale; },
      outer, len, inner, c.vec, i, o);
  c.Output(r, {outer, inner});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
