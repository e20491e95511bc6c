// The generic fusion: a body of elementwise ops (with constants, broadcasts of smaller
// operands and reshapes) becomes one loop nest that reads each operand once and writes each
// result once; intermediates live in registers. Several results of the same size are one
// Tuple Func (AdamW writes the parameter and both moments in one pass). A body that ends in a
// reduction computes its elementwise part inside the reduction's loop.
//
// Every body value is a Halide Expr of the loop's coordinates. With broadcasts the domain is
// seen as [outer, inner], inner being the trailing axes every broadcast operand covers, so a
// broadcast operand is read as (y % its_rows, x): vector loads along x, no gathers.
#include "absl/strings/str_cat.h"
#include "codegen/lower.h"
#include "ir/fused_ops.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

// Element counts of the body's values, to classify each as full, scalar or broadcast.
int64_t Elems(const ir::Graph& b, ir::ValueId v) {
  return std::max<int64_t>(1, b.value(v).type.num_elements());
}

// Fills val[] for the body's nodes in [from, to): reshapes and broadcasts pass their operand's
// expression through (it is already indexed for the loop's coordinates), the rest compute.
void EvalBody(const ir::Graph& body, ir::NodeId from, ir::NodeId to, std::vector<Expr>& val) {
  for (ir::NodeId id = from; id < to; ++id) {
    const ir::Node& nd = body.node(id);
    std::vector<Expr> a;
    for (ir::ValueId v : nd.inputs) a.push_back(val[v]);
    val[nd.outputs[0]] =
        nd.op == ir::Op::kReshape || nd.op == ir::Op::kBroadcast
            ? a[0]
            : ElementwiseExpr(nd.op, nd.attrs, a, body.value(nd.outputs[0]).type.dtype);
  }
}

}  // namespace

absl::Status Fusion(Ctx& c) {
  const ir::Graph& body = *c.spec.body;
  const ir::NodeId red = ir::FusionReduction(body);
  const int n_in = static_cast<int>(c.spec.inputs.size());
  std::vector<Expr> val(body.num_values());

  if (red >= 0) {
    // Elementwise part over the reduction input's (outer, len, inner) domain.
    const ir::Node& rn = body.node(red);
    const ir::Shape& rs = body.value(rn.inputs[0]).type.shape;
    const int64_t axis = *rn.attrs.GetInt("axis");
    const ir::AxisSplit split = ir::SplitAround(rs, axis);
    const int64_t outer = split.outer, len = split.len, inner = split.inner;
    const int64_t n = outer * len * inner;
    Var i("i"), o("o"), r("r");
    for (int k = 0; k < n_in; ++k) {
      const int64_t e = Elems(body, k);
      if (e == n) {
        val[k] = c.Input(k, {outer, len, inner})(i, r, o);
      } else if (e == 1) {
        val[k] = c.Input(k, {1})(0);
      } else {
        return absl::UnimplementedError(
            "codegen: a reduction fusion reads only full-size operands and scalars");
      }
    }
    EvalBody(body, n_in, red, val);
    // The elementwise part is an expression of (i, r, o); evaluate it at the reduction's.
    const Expr x = val[rn.inputs[0]];
    const ReduceKind kind = rn.op == ir::Op::kMax ? ReduceKind::kMax : ReduceKind::kSum;
    const float scale = rn.op == ir::Op::kMean ? 1.0f / static_cast<float>(len) : 1.0f;
    Var i2("i2"), o2("o2");
    Func body_fn("reduced");
    body_fn(i, r, o) = scale == 1.0f ? x : x * scale;
    Func out = ReduceAxis(
        kind, [&](Expr a, Expr b, Expr d) { return body_fn(a, b, d); }, outer, len, inner, c.vec,
        i2, o2);
    c.Output(out, {outer, inner});
    return absl::OkStatus();
  }

  // Elementwise: the domain is the results' shape.
  const ir::Shape& ds = body.value(body.outputs()[0]).type.shape;
  const int64_t n = std::max<int64_t>(1, ir::NumElements(ds));
  // inner: the product of the trailing axes that every broadcast operand spans.
  int64_t inner = n;
  for (ir::ValueId v = 0; v < body.num_values(); ++v) {
    const int64_t e = Elems(body, v);
    if (e == n || e == 1) continue;
    if (n % e != 0)
      return absl::UnimplementedError("codegen: fusion operand does not tile the domain");
    const int rank = body.value(v).type.rank();
    int64_t tail = 1;
    for (int d = static_cast<int>(ds.size()) - 1; d >= static_cast<int>(ds.size()) - rank && d >= 0;
         --d)
      tail *= ds[d];
    inner = std::min(inner, tail);
  }
  for (ir::ValueId v = 0; v < body.num_values(); ++v) {
    const int64_t e = Elems(body, v);
    if (e != 1 && e % inner != 0)
      return absl::UnimplementedError("codegen: fusion broadcast is not a suffix");
  }
  const int64_t outer = n / inner;
  Var x("x"), y("y");
  for (int k = 0; k < n_in; ++k) {
    const int64_t e = Elems(body, k);
    if (e == 1) {
      val[k] = c.Input(k, {1})(0);
    } else if (e == n) {
      val[k] = c.Input(k, {outer, inner})(x, y);
    } else {  // a broadcast operand: its rows repeat along the outer axis
      const int64_t rows = e / inner;
      val[k] = c.Input(k, {rows, inner})(x, rows == 1 ? Expr(0) : y % static_cast<int>(rows));
    }
  }
  EvalBody(body, n_in, body.num_nodes(), val);
  std::vector<Expr> results;
  for (ir::ValueId v : body.outputs()) {
    if (Elems(body, v) != n)
      return absl::UnimplementedError("codegen: fusion results differ in size");
    results.push_back(val[v]);
  }
  Func out("out");
  if (results.size() == 1) {
    out(x, y) = results[0];
  } else {
    out(x, y) = Tuple(results);
  }
  // Vectorised along x; once there is enough work, parallel over about 16 blocks of rows (or
  // of x when there is one row).
  if (outer == 1) {
    ScheduleFlat(out, x, inner, c.vec);
  } else {
    Var yi;
    ScheduleRows(out, x, y, inner, outer, c.vec, &yi, /*min_parallel=*/1 << 15);
  }
  if (results.size() == 1) {
    c.Output(out, {outer, inner});
  } else {
    c.OutputTuple(out, {outer, inner});
  }
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
