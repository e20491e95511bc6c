#include "codegen/lower.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "codegen/buffer_type.h"
#include "ir/literal.h"

namespace gptc::codegen::lower {

using namespace Halide;

Ctx::Ctx(const KernelSpec& s, const Target& t, int v)
    : spec(s),
      target(t),
      vec(t.natural_vector_size<float>()),
      registers(t.has_feature(Target::AVX512) ? 32 : 16),
      variant(v) {}

Type Ctx::type_of(const ir::TensorType& t) const { return HalideType(t.dtype); }

Expr Ctx::Stored(int result, Expr e) const {
  const Type t = type_of(spec.outputs[result]);
  return t == e.type() ? e : Halide::cast(t, e);  // to bf16: round to nearest even
}

std::vector<int> Ctx::ResultsOf(int result) const {
  std::vector<int> r = {result};
  const int own = ir::GetOpInfo(spec.op).num_outputs;
  if (!spec.body || own < 0) return r;
  // Extra result k yields cast(v) where the op's result `result` is v (or cast(v), stored
  // narrow): the verifier allows nothing else after the op's own results.
  const ir::Graph& b = *spec.body;
  auto source = [&](ir::ValueId v) {
    const ir::Node& p = b.node(b.value(v).producer);
    return p.op == ir::Op::kCast ? p.inputs[0] : v;
  };
  const ir::ValueId mine = source(b.outputs()[result]);
  for (int k = own; k < static_cast<int>(b.outputs().size()); ++k)
    if (source(b.outputs()[k]) == mine) r.push_back(k);
  return r;
}

std::vector<Expr> Ctx::WithCopies(int result, Expr e) const {
  std::vector<Expr> v;
  for (int k : ResultsOf(result)) v.push_back(Stored(k, e));
  return v;
}

Type HalideType(ir::DType t) { return Type(BufferType(t)); }

namespace {

// Rank-0 tensors are seen as [1]: Halide handles zero-dimensional buffers, but one shape
// rule for every kernel keeps the executable simpler.
ir::Shape NonScalar(const ir::Shape& s) { return s.empty() ? ir::Shape{1} : s; }

// Fixes every dimension's min, extent and stride of a kernel argument to the view (row-major
// unless strides are given).
void Constrain(OutputImageParam p, const ir::Shape& view, std::vector<int64_t> strides = {}) {
  if (strides.empty()) strides = ir::Strides(view);
  const int rank = static_cast<int>(view.size());
  for (int d = 0; d < rank; ++d) {
    const int axis = rank - 1 - d;
    p.dim(d)
        .set_min(0)
        .set_extent(static_cast<int>(view[axis]))
        .set_stride(static_cast<int>(strides[axis]));
  }
}

}  // namespace

ImageParam Ctx::Input(int i, const ir::Shape& view_in) { return Input(i, view_in, {}); }

ImageParam Ctx::Input(int i, const ir::Shape& view_in, const std::vector<int64_t>& strides_in) {
  const ir::Shape view = NonScalar(view_in);
  ImageParam p(type_of(spec.inputs[i]), static_cast<int>(view.size()), absl::StrCat("in", i));
  Constrain(p, view, strides_in);
  strides.resize(std::max<size_t>(strides.size(), i + 1));
  strides[i] = strides_in;
  // By index, not in call order: `Input(0, ..) + Input(1, ..)` may evaluate either first.
  if (params.size() <= static_cast<size_t>(i)) params.resize(i + 1);
  params[i] = p;
  views.resize(std::max<size_t>(views.size(), i + 1));
  views[i] = view;
  return p;
}

void Ctx::Output(Func f, const ir::Shape& view) { OutputTuple(f, view); }

void Ctx::Output(Func f, const ir::Shape& view, const std::vector<int64_t>& out_strides) {
  Constrain(f.output_buffers()[0], view, out_strides);
  outputs.push_back(f);
  if (views.size() < spec.inputs.size()) views.resize(spec.inputs.size());
  views.push_back(view);
  strides.resize(views.size());
  strides.back() = out_strides;
}

void Ctx::OutputTuple(Func f, const ir::Shape& view_in) {
  const ir::Shape view = NonScalar(view_in);
  Constrain(f.output_buffers()[0], view);  // a Tuple's other buffers follow the first
  outputs.push_back(f);
  if (views.size() < spec.inputs.size()) views.resize(spec.inputs.size());  // inputs come first
  for (int i = 0; i < f.outputs(); ++i) views.push_back(view);
}

void Ctx::OutputTuple(Func f, const ir::Shape& view,
                      const std::vector<std::vector<int64_t>>& out_strides) {
  for (int i = 0; i < f.outputs(); ++i) {
    if (i == 0) {
      Constrain(f.output_buffers()[i], view, out_strides[i]);
    } else {  // Halide takes the bounds of a Tuple's other results from the first: strides only
      const std::vector<int64_t> st = out_strides[i].empty() ? ir::Strides(view) : out_strides[i];
      for (size_t d = 0; d < view.size(); ++d)
        f.output_buffers()[i].dim(d).set_stride(static_cast<int>(st[view.size() - 1 - d]));
    }
  }
  outputs.push_back(f);
  if (views.size() < spec.inputs.size()) views.resize(spec.inputs.size());
  for (int i = 0; i < f.outputs(); ++i) {
    views.push_back(view);
    strides.resize(views.size());
    strides.back() = out_strides[i];
  }
}

Expr At(const ImageParam& p, std::vector<Expr> rowmajor) {
  std::vector<Expr> halide(rowmajor.rbegin(), rowmajor.rend());
  return p(halide);
}

void ScheduleFlat(Func f, Var x, int64_t n, int vec) {
  // GuardWithIf, never ShiftInwards: a shifted tail recomputes elements already written, which
  // is wrong when the kernel writes in place over an operand (the memory plan does that).
  if (n >= (1 << 15)) {
    Var xo("xo"), xi("xi");
    const int64_t chunk = std::max<int64_t>(vec * 512, (n / 16 + vec - 1) / vec * vec);
    f.split(x, xo, xi, static_cast<int>(std::min(chunk, n)), TailStrategy::GuardWithIf)
        .parallel(xo)
        .vectorize(xi, vec, TailStrategy::GuardWithIf);
  } else if (n >= vec) {
    f.vectorize(x, vec, TailStrategy::GuardWithIf);
  }
}

int64_t RowsPerTask(int64_t rows, int64_t cols, int64_t min_parallel) {
  // About 16 tasks (8 per core here), each a block of whole rows.
  const int64_t per_task = std::max<int64_t>(1, rows / 16);
  return rows >= 2 * per_task && rows > 1 && rows * cols >= min_parallel ? per_task : 0;
}

void ScheduleRows(Func f, Var col, Var row, int64_t cols, int64_t rows, int vec, Var* row_inner,
                  int64_t min_parallel) {
  Var ro("ro"), ri("ri");
  if (const int64_t per_task = RowsPerTask(rows, cols, min_parallel)) {
    f.split(row, ro, ri, static_cast<int>(per_task), TailStrategy::GuardWithIf).parallel(ro);
    *row_inner = ri;
  } else {
    *row_inner = row;
  }
  if (cols >= vec) f.vectorize(col, vec, TailStrategy::GuardWithIf);
}

Func VecReduce(const std::string& name, ReduceKind kind, const std::function<Expr(Expr)>& body,
               int64_t n, int vec, const std::vector<Var>& outer) {
  auto combine = [&](Expr a, Expr b) { return kind == ReduceKind::kSum ? a + b : max(a, b); };
  const Expr init =
      kind == ReduceKind::kSum ? Expr(0.0f) : Expr(-std::numeric_limits<float>::max());
  const int64_t full = n / vec;
  std::vector<Expr> outer_e(outer.begin(), outer.end());
  Func out(name);
  Expr acc = init;
  if (full > 0) {
    Func part(name + "_lanes");
    Var lane("lane");
    std::vector<Var> pv = {lane};
    pv.insert(pv.end(), outer.begin(), outer.end());
    RDom rv(0, static_cast<int>(full), name + "_r");
    part(pv) = init;
    part(pv) = combine(part(pv), body(rv * vec + lane));
    // The lanes are combined by one horizontal vector reduction (an atomic, vectorised update
    // over the lanes: Halide emits shuffles and adds), not by extracting vec scalars: for
    // short rows (attention rows of 64, layernorm rows of 128) that cost more than the row.
    Func lanes_sum(name + "_h");
    RDom rl(0, vec, name + "_l");
    std::vector<Expr> at = {Expr(rl)};
    at.insert(at.end(), outer_e.begin(), outer_e.end());
    lanes_sum(outer) = init;
    lanes_sum(outer) = combine(lanes_sum(outer), part(at));
    lanes_sum.update().atomic().vectorize(rl);
    acc = lanes_sum(outer_e);
    // Per point of the result (a row), so a parallel loop over rows covers the lanes too.
    const LoopLevel at_row =
        outer.empty() ? LoopLevel(out, Var::outermost()) : LoopLevel(out, outer[0]);
    lanes_sum.compute_at(at_row);
    part.compute_at(at_row).vectorize(lane);
    part.update().vectorize(lane);
  }
  for (int64_t t = full * vec; t < n; ++t) acc = combine(acc, body(static_cast<int>(t)));
  out(outer) = acc;
  return out;
}

absl::Status Lower(Ctx& c) {
  using ir::Op;
  const Op op = c.spec.op;
  if ((!c.spec.input_strides.empty() || !c.spec.output_strides.empty()) &&
      !ir::HasTrait(op, ir::kStrided))
    return absl::InvalidArgumentError(
        absl::StrCat("codegen: '", ir::OpName(op), "' cannot read or write strided views"));
  // Every family is listed (no default), so a new family of ops.def does not compile until
  // its lowering is decided here; each family's lowering decides its own ops.
  using F = ir::Family;
  switch (ir::FamilyOf(op)) {
    case F::kFill:
    case F::kUnary:
    case F::kBinary:
    case F::kTernary:
    case F::kCast:
    case F::kActivation:
      return Elementwise(c);
    case F::kFusion:
      return Fusion(c);
    case F::kLinalg:
      return MatMul(c);
    case F::kLayout:
      if (op == Op::kReshape) break;  // a view: no kernel
      return Layout(c);
    case F::kReduction:
      return Reduce(c);
    case F::kLookup:
      return Lookup(c);
    case F::kNorm:
      return Norm(c);
    case F::kSoftmax:
      return Softmax(c);
    case F::kLoss:
      return Loss(c);
    case F::kAttention:
      return Attention(c);
    case F::kOptimizer:
      return AdamW(c);
    case F::kCollective:  // the runtime runs it (runtime/communicator.h)
      return absl::InvalidArgumentError("codegen: all_reduce is a host op, not a kernel");
    case F::kDecode:
      return Decode(c);
    case F::kRandom:
      return Dropout(c);
    case F::kDecl:
      break;  // declarations: no kernel
  }
  return absl::UnimplementedError(absl::StrCat("codegen: '", ir::OpName(op), "' has no kernel"));
}

}  // namespace gptc::codegen::lower
