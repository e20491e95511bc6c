// Data movement (transpose, slice, concat, broadcast, expand) and the embedding lookup with
// its scatter-add gradient.
#include "absl/strings/str_cat.h"
#include "codegen/lower.h"
#include "ir/literal.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

std::vector<Var> MakeVars(int n) {
  std::vector<Var> v;
  for (int i = 0; i < n; ++i)
    v.push_back(Var(absl::StrCat("axis", i)));  // not "vN": Halide names its own Vars so
  return v;
}

// Row-major variable list for a rank-n output (vars[0] is the outermost axis).
std::vector<Expr> RowMajor(const std::vector<Var>& v) {
  return std::vector<Expr>(v.begin(), v.end());
}
// The same variables in Halide's order (innermost first), for the left-hand side.
std::vector<Var> Rev(const std::vector<Var>& v) { return std::vector<Var>(v.rbegin(), v.rend()); }

// Vectorises the innermost axis when wide enough and, for large outputs, runs blocks of the
// outermost axis in parallel (about 16 tasks: one task per index would drown in overhead).
void ScheduleCopy(Func f, const std::vector<Var>& v, const ir::Shape& shape, int vec) {
  const int rank = static_cast<int>(shape.size());
  if (shape.back() >= vec) f.vectorize(v[rank - 1], vec, TailStrategy::ShiftInwards);
  if (rank > 1 && ir::NumElements(shape) >= (1 << 14)) {
    const int64_t per_task = std::max<int64_t>(1, shape[0] / 16);
    Var o("outer_block"), i("outer_in");
    f.split(v[0], o, i, static_cast<int>(per_task), TailStrategy::GuardWithIf).parallel(o);
  }
}

// Views x as (outer, len, inner) around `axis`.
ir::Shape Around(const ir::Shape& s, int64_t axis) {
  const ir::AxisSplit a = ir::SplitAround(s, axis);
  return {a.outer, a.len, a.inner};
}

// Concatenation: the output, seen as (outer, total, inner) around the axis, is written by one
// update per part that copies the part into its range (vectorised, parallel over outer
// rows). A select among all parts per element would read every part for every element.
absl::Status Concat(Ctx& c) {
  const int64_t axis = *c.spec.attrs.GetInt("axis");
  const ir::Shape view = Around(c.spec.outputs[0].shape, axis);  // (outer, total, inner)
  const int64_t outer = view[0], inner = view[2];
  Var i("i"), o("o");
  Var a("a");
  Func out("out");
  out(i, a, o) = undef(c.type_of(c.spec.outputs[0]));  // f32, or bf16 (a cast moved up)
  int64_t offset = 0;
  for (size_t p = 0; p < c.spec.inputs.size(); ++p) {
    const int64_t len = c.spec.inputs[p].shape[axis];
    ImageParam x = c.Input(static_cast<int>(p), {outer, len, inner});
    RDom r(0, static_cast<int>(len), absl::StrCat("r", p));
    out(i, r + static_cast<int>(offset), o) = x(i, r, o);
    Stage u = out.update(static_cast<int>(p));
    if (inner >= c.vec) {
      u.vectorize(i, c.vec, TailStrategy::GuardWithIf);
    } else if (inner == 1 && len >= c.vec) {
      RVar ro, ri;
      u.split(r, ro, ri, c.vec, TailStrategy::GuardWithIf).vectorize(ri);
    }
    if (outer > 1 && ir::NumElements(view) >= (1 << 15)) {
      Var oo, oi;
      u.split(o, oo, oi, static_cast<int>(std::max<int64_t>(1, outer / 16)),
              TailStrategy::GuardWithIf)
          .parallel(oo);
    }
    offset += len;
  }
  c.Output(out, view);
  return absl::OkStatus();
}

}  // namespace

absl::Status Layout(Ctx& c) {
  using ir::Op;
  const ir::Shape& os = c.spec.outputs[0].shape;
  const int rank = static_cast<int>(os.size());
  Func out("out");
  std::vector<Var> v = MakeVars(rank);
  ir::Shape out_view = os;
  switch (ir::As<ir::LayoutOp>(c.spec.op)) {
    case ir::LayoutOp::kTranspose: {
      ImageParam x = c.Input(0, c.spec.inputs[0].shape);
      const std::vector<int64_t> perm = *c.spec.attrs.GetInts("perm");
      std::vector<Expr> idx(rank);
      for (int q = 0; q < rank; ++q) idx[perm[q]] = v[q];  // out axis q reads input axis perm[q]
      out(Rev(v)) = At(x, idx);
      break;
    }
    case ir::LayoutOp::kSlice: {
      ImageParam x = c.Input(0, c.spec.inputs[0].shape);
      const int64_t axis = *c.spec.attrs.GetInt("axis"), start = *c.spec.attrs.GetInt("start");
      std::vector<Expr> idx = RowMajor(v);
      idx[axis] = idx[axis] + static_cast<int>(start);
      out(Rev(v)) = At(x, idx);
      break;
    }
    case ir::LayoutOp::kConcat:
      return Concat(c);
    case ir::LayoutOp::kBroadcast: {  // out [lead, n] repeats in [n]
      const int64_t n = std::max<int64_t>(1, c.spec.inputs[0].num_elements());
      const int64_t lead = ir::NumElements(os) / n;
      ImageParam x = c.Input(0, {n});
      if (n < c.vec) {  // narrow rows (a scalar, say): one flat loop instead of many short rows
        Var flat("flat");
        out(flat) = x(flat % static_cast<int>(n));
        ScheduleFlat(out, flat, lead * n, c.vec);
        c.Output(out, {lead * n});
        return absl::OkStatus();
      }
      v = MakeVars(2);
      out(v[1], v[0]) = x(v[1]);
      out_view = {lead, n};
      break;
    }
    case ir::LayoutOp::kExpand: {  // in [outer, inner] -> out [outer, size, inner]
      const int64_t axis = *c.spec.attrs.GetInt("axis"), size = *c.spec.attrs.GetInt("size");
      out_view = Around(os, axis);
      ImageParam x = c.Input(0, {out_view[0], out_view[2]});
      v = MakeVars(3);
      out(v[2], v[1], v[0]) = x(v[2], v[0]);
      (void)size;
      break;
    }
    case ir::LayoutOp::kReshape:  // a view of its operand (lower.cc): no kernel
      return absl::UnimplementedError("codegen: reshape is a view, not a kernel");
  }
  ScheduleCopy(out, v, out_view, c.vec);
  c.Output(out, out_view);
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
