#include "frontend/ops.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "frontend/builder.h"

namespace gptc {
namespace {

using ir::Op;

Builder* B(const Tensor& t) { return t.builder(); }

// Normalises a possibly negative axis; records an error and returns -1 if out of range.
int Axis(const Tensor& x, int axis, const char* op) {
  const int r = x.rank();
  const int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) {
    B(x)->Fail(
        absl::InvalidArgumentError(absl::StrCat(op, ": axis ", axis, " is out of range for %",
                                                x.name(), ": ", ir::TypeToString(x.type()))));
    return -1;
  }
  return a;
}

Tensor Unary(Op op, Tensor x, ir::Attrs attrs = {}) {
  if (!x.valid()) return x;
  return B(x)->Apply(op, {x}, std::move(attrs));
}

// numpy's rule: shapes align at their last axes, and an axis of size 1 (or a missing leading
// one) stretches to the other's size. Returns false if some pair of axes differs otherwise.
bool BroadcastShape(const ir::Shape& a, const ir::Shape& b, ir::Shape& out) {
  const size_t r = std::max(a.size(), b.size());
  out.assign(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    out[i] = da == 1 ? db : da;
  }
  return true;
}

// x repeated to `target` (a numpy broadcast of x's shape). The IR's binary ops take equal
// shapes, as XLA's do; the stretching is explicit: a `broadcast` when only leading axes are
// new (fused kernels read it with stride 0), else the size-1 axes are dropped and each is put
// back by an `expand`.
Tensor BroadcastTo(Tensor x, const ir::Shape& target) {
  if (x.shape() == target) return x;
  const size_t lead = target.size() - x.shape().size();
  ir::Shape padded(lead, 1);
  padded.insert(padded.end(), x.shape().begin(), x.shape().end());
  std::vector<size_t> stretched;
  ir::Shape kept;
  for (size_t i = 0; i < target.size(); ++i) {
    if (padded[i] == target[i])
      kept.push_back(target[i]);
    else
      stretched.push_back(i);
  }
  // Only size-1 axes up to the last stretched one: x is a suffix of target (after dropping
  // them), which a broadcast repeats.
  const size_t last = stretched.empty() ? 0 : stretched.back();
  bool leading_only = true;
  for (size_t i = 0; i <= last; ++i) leading_only &= padded[i] == 1;
  if (leading_only) {
    const ir::Shape suffix(target.begin() + last + 1, target.end());
    return Broadcast(suffix == x.shape() ? x : Reshape(x, suffix), target);
  }
  Tensor cur = ir::Shape(kept) == x.shape() ? x : Reshape(x, kept);
  for (size_t axis : stretched) cur = Expand(cur, static_cast<int>(axis), target[axis]);
  return cur;
}

// An elementwise op of several operands, broadcast to their common shape first.
Tensor Broadcasting(Op op, std::vector<Tensor> xs) {
  for (const Tensor& x : xs)
    if (!x.valid()) return x;
  ir::Shape target = xs[0].shape();
  bool ok = true;
  for (const Tensor& x : xs) ok = ok && BroadcastShape(ir::Shape(target), x.shape(), target);
  if (!ok) {
    std::string list;
    for (size_t i = 0; i < xs.size(); ++i)
      absl::StrAppend(&list,
                      i == 0               ? ""
                      : i + 1 == xs.size() ? " and "
                                           : ", ",
                      "%", xs[i].name(), " ", ir::TypeToString(xs[i].type()));
    B(xs[0])->Fail(absl::InvalidArgumentError(
        absl::StrCat(ir::OpName(op), ": ", list, " do not broadcast (numpy's rule: equal, or 1)")));
    return Tensor();
  }
  for (Tensor& x : xs) x = BroadcastTo(x, target);
  return B(xs[0])->Apply(op, xs);
}

Tensor Binary(Op op, Tensor a, Tensor b) { return Broadcasting(op, {a, b}); }

Tensor Reduce(Op op, Tensor x, int axis) {
  if (!x.valid()) return x;
  const int a = Axis(x, axis, ir::OpName(op));
  if (a < 0) return Tensor();
  return B(x)->Apply(op, {x}, {{"axis", int64_t{a}}});
}

}  // namespace

Tensor operator+(Tensor a, Tensor b) { return Binary(Op::kAdd, a, b); }
Tensor operator-(Tensor a, Tensor b) { return Binary(Op::kSub, a, b); }
Tensor operator*(Tensor a, Tensor b) { return Binary(Op::kMul, a, b); }
Tensor operator/(Tensor a, Tensor b) { return Binary(Op::kDiv, a, b); }
Tensor operator-(Tensor a) { return Unary(Op::kNeg, a); }

Tensor MatMul(Tensor a, Tensor b, MatMulOptions opts) {
  if (!a.valid() || !b.valid()) return Tensor();
  ir::Attrs attrs;
  if (opts.transpose_a) attrs.Set("transpose_a", true);
  if (opts.transpose_b) attrs.Set("transpose_b", true);
  return B(a)->Apply(Op::kMatMul, {a, b}, std::move(attrs));
}

Tensor Reshape(Tensor x, std::vector<int64_t> shape) {
  if (!x.valid()) return x;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1 && infer < 0) {
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0 && known > 0 && x.type().num_elements() % known == 0)
    shape[infer] = x.type().num_elements() / known;
  return B(x)->Apply(Op::kReshape, {x}, {{"shape", shape}});
}

Tensor Transpose(Tensor x, std::vector<int64_t> perm) {
  return Unary(Op::kTranspose, x, {{"perm", std::move(perm)}});
}

Tensor Slice(Tensor x, int axis, int64_t start, int64_t end) {
  if (!x.valid()) return x;
  const int a = Axis(x, axis, "slice");
  if (a < 0) return Tensor();
  return B(x)->Apply(Op::kSlice, {x}, {{"axis", int64_t{a}}, {"start", start}, {"end", end}});
}

Tensor Concat(const std::vector<Tensor>& parts, int axis) {
  if (parts.empty() || !parts[0].valid()) return Tensor();
  const int a = Axis(parts[0], axis, "concat");
  if (a < 0) return Tensor();
  return B(parts[0])->Apply(Op::kConcat, parts, {{"axis", int64_t{a}}});
}

Tensor Broadcast(Tensor x, std::vector<int64_t> shape) {
  return Unary(Op::kBroadcast, x, {{"shape", std::move(shape)}});
}

Tensor Expand(Tensor x, int axis, int64_t size) {
  if (!x.valid()) return x;
  // An insertion point is in [0, rank]: -1 means after the last axis.
  const int64_t a = axis < 0 ? axis + x.type().rank() + 1 : axis;
  return Unary(Op::kExpand, x, {{"axis", a}, {"size", size}});
}

Tensor Sum(Tensor x, int axis) { return Reduce(Op::kSum, x, axis); }
Tensor Mean(Tensor x, int axis) { return Reduce(Op::kMean, x, axis); }
Tensor Max(Tensor x, int axis) { return Reduce(Op::kMax, x, axis); }

#define OP_UNARY(name, text, traits) \
  Tensor name(Tensor x) { return Unary(Op::k##name, x); }
#define OP_UNARY_ATTR(name, text, traits, attr) \
  Tensor name(Tensor x, double attr_value) { return Unary(Op::k##name, x, {{attr, attr_value}}); }
#define OP_BINARY(name, text, traits) \
  Tensor name(Tensor a, Tensor b) { return Binary(Op::k##name, a, b); }
#define OP_TERNARY(name, text, traits) \
  Tensor name(Tensor a, Tensor b, Tensor c) { return Broadcasting(Op::k##name, {a, b, c}); }
#include "ir/ops.def"

Tensor Embedding(Tensor table, Tensor ids) {
  if (!table.valid() || !ids.valid()) return Tensor();
  return B(table)->Apply(Op::kEmbedding, {table, ids});
}

Tensor Gather(Tensor x, Tensor indices, int axis) {
  if (!x.valid() || !indices.valid()) return Tensor();
  const int a = Axis(x, axis, "gather");
  if (a < 0) return Tensor();
  return B(x)->Apply(Op::kGather, {x, indices}, {{"axis", int64_t{a}}});
}

Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
  if (!x.valid() || !weight.valid() || !bias.valid()) return Tensor();
  return B(x)->Apply(Op::kLayerNorm, {x, weight, bias}, {{"eps", eps}});
}

Tensor Dropout(Tensor x, double p) {
  if (!x.valid() || p == 0) return x;
  Builder* b = B(x);
  return b->Apply(Op::kDropout, {x, b->RngKey()}, {{"p", p}, {"site", b->NextRngSite()}});
}

Tensor Softmax(Tensor x) { return Unary(Op::kSoftmax, x); }

Tensor CausalMask(Tensor x) {
  return Unary(Op::kCausalMask, x, {{"fill", -std::numeric_limits<double>::infinity()}});
}

Tensor CrossEntropy(Tensor probs, Tensor targets) {
  if (!probs.valid() || !targets.valid()) return Tensor();
  return B(probs)->Apply(Op::kXent, {probs, targets});
}

Tensor SoftmaxCrossEntropy(Tensor logits, Tensor targets) {
  return CrossEntropy(Softmax(logits), targets);
}

}  // namespace gptc
