// The generic fusion: a body of elementwise ops (with constants, broadcasts of smaller
// operands and reshapes) becomes one loop nest that reads each operand once and writes each
// result once; intermediates live in registers. Several results of the same size are one
// Tuple Func (AdamW writes the parameter and both moments in one pass). A body that ends in a
// reduction computes its elementwise part inside the reduction's loop.
//
// Every body value is a Halide Expr of the loop's coordinates. With broadcasts the domain is
// seen as [outer, inner], inner being the trailing axes every broadcast operand covers, so a
// broadcast operand is read as (y % its_rows, x): vector loads along x, no gathers.
//
// A rows body (ir/fusion_layout.h: a norm, a softmax, their gradients) is one loop over rows:
// per row, each reduction runs over the row's columns (vectorised lanes, VecReduce), then the
// row's full results are written, all while the row is in L1. Row results (statistics the
// backward pass reads) are written in the same loop over rows, and column sums (a norm's
// weight gradient) are summed per parallel block of rows in the same loop iteration as the
// block, from cache.
#include "absl/strings/str_cat.h"
#include "codegen/lower.h"
#include "ir/fusion_layout.h"
#include "ir/status_macros.h"

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

// f(at) = the one expression, or a Tuple of several (one loop writes them all).
void Define(Func f, const std::vector<Var>& at, const std::vector<Expr>& e) {
  if (e.size() == 1) {
    f(at) = e[0];
  } else {
    f(at) = Tuple(e);
  }
}

absl::Status Rows(Ctx& c, const ir::FusionLayout& l) {
  using S = ir::FusionLayout::Space;
  const ir::Graph& body = *c.spec.body;
  const int n_in = static_cast<int>(c.spec.inputs.size());
  const int64_t rows = l.rows, cols = l.cols;
  Var col("col"), row("row");
  const Expr flat = row * static_cast<int>(cols) + col;
  // Every operand is seen flat; a broadcast's operand is read at the flat index modulo its
  // size, along the columns (or the rows) where its size tiles them, so loads stay vectors.
  std::vector<ImageParam> in(n_in);
  for (int k = 0; k < n_in; ++k) in[k] = c.Input(k, {Elems(body, k)});
  std::vector<Expr> val(body.num_values());
  for (int k = 0; k < n_in; ++k) {
    switch (l.space[k]) {
      case S::kFull:
        val[k] = in[k](flat);
        break;
      case S::kRow:
        val[k] = in[k](row);
        break;
      case S::kScalar:
        val[k] = in[k](0);
        break;
      case S::kOperand:  // read by broadcasts only
      case S::kColumn:   // results only
        break;
    }
  }
  std::vector<Func> reductions, stored;
  bool column_sums = false;
  for (ir::ValueId v : body.outputs()) column_sums |= l.space[v] == S::kColumn;
  // Rows in parallel blocks, as ScheduleRows splits them (one block when too small to split,
  // if column sums need the blocks).
  int64_t per_task = RowsPerTask(rows, cols, /*min_parallel=*/1 << 15);
  if (column_sums && !per_task) per_task = rows;
  const int tasks = per_task ? static_cast<int>((rows + per_task - 1) / per_task) : 1;
  Var ro("ro"), ri("ri");
  // A column sum (a norm's weight gradient) is summed per block of rows, each block in the
  // same parallel loop iteration as the block's row results (compute_with below), so it reads
  // rows the block has just read, from cache, not in a second pass over memory; the blocks'
  // partial sums are then added (tasks x cols, small).
  std::vector<std::pair<Func, RDom>> partials;
  std::vector<Func> columns(body.num_values());
  for (ir::NodeId id = n_in; id < body.num_nodes(); ++id) {
    const ir::Node& nd = body.node(id);
    const ir::ValueId out = nd.outputs[0];
    if (l.space[out] == S::kColumn) {
      RDom rr(0, static_cast<int>(per_task), "rr");
      const Expr at = ro * static_cast<int>(per_task) + rr;
      rr.where(at < static_cast<int>(rows));
      Func part(absl::StrCat("colpart", id));
      part(col, ro) = 0.0f;
      part(col, ro) += substitute(row.name(), at, val[nd.inputs[0]]);
      partials.push_back({part, rr});
      RDom t(0, tasks, "t");
      Var co("co");
      Func& total = columns[out];  // (column, 0): a [1, cols] view
      total(col, co) = 0.0f;
      total(col, co) += part(col, t);
      if (cols >= c.vec) {
        total.vectorize(col, c.vec, TailStrategy::GuardWithIf);
        total.update().vectorize(col, c.vec, TailStrategy::GuardWithIf);
      }
    } else if (nd.op == ir::Op::kReshape || nd.op == ir::Op::kExpand) {
      val[out] = val[nd.inputs[0]];
    } else if (nd.op == ir::Op::kBroadcast) {
      const ir::ValueId src = nd.inputs[0];
      const int e = static_cast<int>(Elems(body, src));
      if (l.space[src] == S::kScalar) {
        val[out] = val[src];
      } else if (l.space[out] == S::kRow) {
        val[out] = in[src](row % e);
      } else if (cols % e == 0) {
        val[out] = in[src](col % e);
      } else {  // e is a multiple of cols: whole rows repeat
        val[out] = in[src]((row % (e / static_cast<int>(cols))) * static_cast<int>(cols) + col);
      }
    } else if (ir::HasTrait(nd.op, ir::kReduction)) {
      // Halide names may not hold '.', which IR names do: the node's index names it.
      Func pre(absl::StrCat("pre", id));
      pre(col, row) = val[nd.inputs[0]];
      const ReduceKind kind = nd.op == ir::Op::kMax ? ReduceKind::kMax : ReduceKind::kSum;
      Func red = VecReduce(absl::StrCat("red", id), kind, [&](Expr j) { return pre(j, row); }, cols,
                           c.vec, {row});
      reductions.push_back(red);
      // A computed value that is reduced is kept for its row (L1), so what reads it after the
      // reduction (a softmax's exp(x - max) / sum) does not compute it again. Not with column
      // sums, whose loop over a block's rows follows the rows' loop and recomputes what it
      // reads.
      const ir::ValueId x = nd.inputs[0];
      if (!column_sums && !ir::HasTrait(body.node(body.value(x).producer).op, ir::kDecl)) {
        stored.push_back(pre);
        val[x] = pre(col, row);
      }
      val[out] = nd.op == ir::Op::kMean ? red(row) * (1.0f / static_cast<float>(cols)) : red(row);
    } else {
      val[out] = ElementwiseExpr(
          nd.op, nd.attrs,
          [&] {
            std::vector<Expr> a;
            for (ir::ValueId v : nd.inputs) a.push_back(val[v]);
            return a;
          }(),
          body.value(out).type.dtype);
    }
  }
  std::vector<Expr> full, per_row;  // LayOutFusion checked the order: full, row, column
  for (ir::ValueId v : body.outputs()) {
    if (l.space[v] == S::kFull) full.push_back(val[v]);
    if (l.space[v] == S::kRow) per_row.push_back(val[v]);
  }
  Func out_full("out"), out_rows("out_rows");
  if (!full.empty()) Define(out_full, {col, row}, full);
  if (!per_row.empty()) Define(out_rows, {row}, per_row);
  // Each row's reductions run just before its results. With row results as well, their loop
  // over rows is fused with the full results' loop (compute_with), so the reductions still
  // run once per row, in L1.
  const Func driver = full.empty() ? out_rows : out_full;
  const Var inner = per_task ? ri : row;
  for (Func f : {out_full, out_rows})
    if (f.defined() && per_task)
      f.split(row, ro, ri, static_cast<int>(per_task), TailStrategy::GuardWithIf).parallel(ro);
  if (!full.empty() && cols >= c.vec) out_full.vectorize(col, c.vec, TailStrategy::GuardWithIf);
  if (!full.empty() && !per_row.empty()) out_rows.compute_with(out_full, inner);
  for (auto& [part, rr] : partials) {
    part.compute_root();
    if (cols >= c.vec) {
      part.vectorize(col, c.vec, TailStrategy::GuardWithIf);
      part.update().vectorize(col, c.vec, TailStrategy::GuardWithIf);
    }
    part.update().reorder(col, rr.x, ro).parallel(ro);  // as the driver's loop over blocks
    part.update().compute_with(driver, ro);
  }
  for (Func& r : reductions) r.compute_at(driver, inner);
  for (Func& f : stored) {
    f.compute_at(driver, inner);
    if (cols >= c.vec) f.vectorize(col, c.vec, TailStrategy::GuardWithIf);
  }
  if (!full.empty()) c.OutputTuple(out_full, {rows, cols});
  if (!per_row.empty()) c.OutputTuple(out_rows, {rows});
  for (ir::ValueId v : body.outputs())
    if (l.space[v] == S::kColumn) c.Output(columns[v], {1, cols});
  return absl::OkStatus();
}

}  // namespace

absl::Status Fusion(Ctx& c) {
  const ir::Graph& body = *c.spec.body;
  ASSIGN_OR_RETURN(const ir::FusionLayout layout, ir::LayOutFusion(body));
  if (layout.kind == ir::FusionLayout::Kind::kRows) return Rows(c, layout);
  const ir::NodeId red = layout.reduction;
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
  Define(out, {x, y}, results);
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
