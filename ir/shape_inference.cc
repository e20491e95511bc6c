#include "ir/shape_inference.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/status_macros.h"

namespace gptc::ir {
namespace {

using Types = std::vector<TensorType>;

absl::Status Err(Op op, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat(OpName(op), ": ", msg));
}

std::string S(const Shape& s) { return ShapeToString(s); }

absl::Status ExpectF32(Op op, const TensorType& t, const char* what) {
  if (t.dtype != DType::kF32)
    return Err(op, absl::StrCat(what, " must be f32, got ", TypeToString(t)));
  return absl::OkStatus();
}

absl::Status CheckAxis(Op op, int64_t axis, int rank) {
  if (axis < 0 || axis >= rank)
    return Err(op, absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  return absl::OkStatus();
}

absl::StatusOr<Types> Embedding(Op op, absl::Span<const TensorType> in) {
  const TensorType& table = in[0];
  const TensorType& ids = in[1];
  RETURN_IF_ERROR(ExpectF32(op, table, "table"));
  if (table.rank() != 2) return Err(op, "table must be rank 2 [V,C], got " + S(table.shape));
  if (ids.dtype != DType::kI32) return Err(op, "ids must be i32, got " + TypeToString(ids));
  Shape out = ids.shape;
  out.push_back(table.shape[1]);
  return Types{F32(out)};
}

absl::StatusOr<Types> Binary(Op op, absl::Span<const TensorType> in) {
  RETURN_IF_ERROR(ExpectF32(op, in[0], "lhs"));
  RETURN_IF_ERROR(ExpectF32(op, in[1], "rhs"));
  if (in[0].shape != in[1].shape)
    return Err(op, absl::StrCat("shapes differ (", S(in[0].shape), " vs ", S(in[1].shape),
                                "); broadcast explicitly"));
  return Types{in[0]};
}

absl::StatusOr<Types> Ternary(Op op, absl::Span<const TensorType> in) {
  for (int i = 0; i < 3; ++i) {
    RETURN_IF_ERROR(ExpectF32(op, in[i], absl::StrCat("operand ", i).c_str()));
    if (in[i].shape != in[0].shape)
      return Err(op, absl::StrCat("shapes differ (", S(in[0].shape), " vs ", S(in[i].shape),
                                  "); broadcast explicitly"));
  }
  return Types{in[0]};
}

// x [A..., L, B...] and idx i32[J...] -> [A..., J..., B...]
absl::StatusOr<Types> Gather(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  const TensorType& x = in[0];
  const TensorType& idx = in[1];
  ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
  RETURN_IF_ERROR(ExpectF32(op, x, "x"));
  if (axis < 0 || axis >= x.rank())
    return Err(op, absl::StrCat("axis ", axis, " is out of range for ", S(x.shape)));
  if (idx.dtype != DType::kI32) return Err(op, "indices must be i32, got " + TypeToString(idx));
  Shape out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  return Types{F32(out)};
}

// (idx i32[J...], dy [A..., J..., B...]) -> dx [A..., size, B...]
absl::StatusOr<Types> GatherGrad(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  const TensorType& idx = in[0];
  const TensorType& dy = in[1];
  ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
  ASSIGN_OR_RETURN(int64_t size, attrs.GetInt("size"));
  if (idx.dtype != DType::kI32) return Err(op, "indices must be i32, got " + TypeToString(idx));
  RETURN_IF_ERROR(ExpectF32(op, dy, "dy"));
  if (size <= 0) return Err(op, absl::StrCat("size must be positive, got ", size));
  if (axis < 0 || axis > dy.rank() - idx.rank() ||  // no sum: axis may be near INT64_MAX
      !std::equal(idx.shape.begin(), idx.shape.end(), dy.shape.begin() + axis))
    return Err(op, absl::StrCat("dy ", S(dy.shape), " must hold the indices' shape ", S(idx.shape),
                                " at axis ", axis));
  Shape out(dy.shape.begin(), dy.shape.begin() + axis);
  out.push_back(size);
  out.insert(out.end(), dy.shape.begin() + axis + idx.rank(), dy.shape.end());
  return Types{F32(out)};
}

// f32 -> bf16 or bf16 -> f32
absl::StatusOr<Types> Cast(Op op, const TensorType& x, const Attrs& attrs) {
  ASSIGN_OR_RETURN(std::string name, attrs.GetString("dtype"));
  const std::optional<DType> to = DTypeFromName(name);
  if (!to || *to == DType::kI32) return Err(op, "dtype must be f32 or bf16, got '" + name + "'");
  if (x.dtype == DType::kI32) return Err(op, "input must be f32 or bf16, got " + TypeToString(x));
  return Types{{*to, x.shape}};
}

// Both operands f32, or both bf16 (mixed precision); the product is accumulated in f32 and
// stored in f32, or, with bf16 operands and dtype="bf16", rounded to bf16 as it is stored
// (autocast's matmul output; passes/mixed_precision.h's NarrowGemmResults).
absl::StatusOr<Types> MatMul(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  const TensorType& a = in[0];
  const TensorType& b = in[1];
  const bool bf16 = a.dtype == DType::kBF16 && b.dtype == DType::kBF16;
  if (!bf16) {
    RETURN_IF_ERROR(ExpectF32(op, a, "lhs"));
    RETURN_IF_ERROR(ExpectF32(op, b, "rhs"));
  }
  DType stored = DType::kF32;
  if (attrs.Has("dtype")) {
    ASSIGN_OR_RETURN(std::string name, attrs.GetString("dtype"));
    const std::optional<DType> t = DTypeFromName(name);
    if (!t || *t == DType::kI32)
      return Err(op, "dtype (the result's) must be f32 or bf16, got '" + name + "'");
    if (*t == DType::kBF16 && !bf16)
      return Err(op, "a bf16 result needs bf16 operands, got " + TypeToString(a) + " and " +
                         TypeToString(b));
    stored = *t;
  }
  ASSIGN_OR_RETURN(bool ta, attrs.GetBool("transpose_a"));
  ASSIGN_OR_RETURN(bool tb, attrs.GetBool("transpose_b"));
  if (a.rank() < 2 || b.rank() < 2)
    return Err(op,
               absl::StrCat("operands must have rank >= 2, got ", S(a.shape), " and ", S(b.shape)));
  if (b.rank() != 2 && b.rank() != a.rank())
    return Err(op, absl::StrCat("rhs must be rank 2 or match the lhs rank, got ", S(a.shape),
                                " and ", S(b.shape)));
  const int ra = a.rank(), rb = b.rank();
  Shape batch(a.shape.begin(), a.shape.end() - 2);
  if (rb == ra && rb > 2) {
    Shape bbatch(b.shape.begin(), b.shape.end() - 2);
    if (batch != bbatch)
      return Err(op, absl::StrCat("batch dimensions differ (", S(batch), " vs ", S(bbatch), ")"));
  }
  const int64_t m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const int64_t ka = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const int64_t kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const int64_t n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (ka != kb) return Err(op, absl::StrCat("inner dimensions differ (", ka, " vs ", kb, ")"));
  Shape out = batch;
  out.push_back(m);
  out.push_back(n);
  return Types{{stored, out}};
}

absl::StatusOr<Types> Reshape(Op op, const TensorType& x, const Attrs& attrs) {
  ASSIGN_OR_RETURN(Shape shape, attrs.GetInts("shape"));
  for (int64_t d : shape)
    if (d < 0) return Err(op, "target shape " + S(shape) + " has a negative dimension");
  if (NumElements(shape) != x.num_elements())
    return Err(op,
               absl::StrCat("cannot reshape ", S(x.shape), " (", x.num_elements(), " elements) to ",
                            S(shape), " (", NumElements(shape), " elements)"));
  return Types{{x.dtype, shape}};
}

absl::StatusOr<Types> Transpose(Op op, const TensorType& x, const Attrs& attrs) {
  ASSIGN_OR_RETURN(std::vector<int64_t> perm, attrs.GetInts("perm"));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  bool is_perm = static_cast<int>(perm.size()) == x.rank();
  for (int i = 0; is_perm && i < x.rank(); ++i) is_perm = sorted[i] == i;
  if (!is_perm)
    return Err(op, absl::StrCat("perm [", absl::StrJoin(perm, ","),
                                "] is not a permutation of the axes of ", S(x.shape)));
  Shape out;
  for (int64_t p : perm) out.push_back(x.shape[p]);
  return Types{{x.dtype, out}};
}

absl::StatusOr<Types> Slice(Op op, const TensorType& x, const Attrs& attrs) {
  ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
  ASSIGN_OR_RETURN(int64_t start, attrs.GetInt("start"));
  ASSIGN_OR_RETURN(int64_t end, attrs.GetInt("end"));
  RETURN_IF_ERROR(CheckAxis(op, axis, x.rank()));
  if (start < 0 || end > x.shape[axis] || start >= end)
    return Err(op, absl::StrCat("range [", start, ",", end, ") is empty or outside [0,",
                                x.shape[axis], ") on axis ", axis, " of ", S(x.shape)));
  Shape out = x.shape;
  out[axis] = end - start;
  return Types{{x.dtype, out}};
}

absl::StatusOr<Types> Concat(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
  RETURN_IF_ERROR(CheckAxis(op, axis, in[0].rank()));
  Shape out = in[0].shape;
  out[axis] = 0;
  for (const TensorType& t : in) {
    Shape a = t.shape, b = in[0].shape;
    if (t.dtype != in[0].dtype || t.rank() != in[0].rank())
      return Err(op, absl::StrCat("operands differ in type (", TypeToString(in[0]), " vs ",
                                  TypeToString(t), ")"));
    a[axis] = b[axis] = 0;
    if (a != b)
      return Err(op, absl::StrCat("shapes differ off axis ", axis, " (", S(in[0].shape), " vs ",
                                  S(t.shape), ")"));
    out[axis] += t.shape[axis];
  }
  return Types{{in[0].dtype, out}};
}

absl::StatusOr<Types> Broadcast(Op op, const TensorType& x, const Attrs& attrs) {
  ASSIGN_OR_RETURN(Shape shape, attrs.GetInts("shape"));
  const bool suffix = shape.size() >= x.shape.size() &&
                      std::equal(x.shape.rbegin(), x.shape.rend(), shape.rbegin());
  if (!suffix)
    return Err(op, absl::StrCat("input shape ", S(x.shape), " is not a suffix of ", S(shape)));
  return Types{{x.dtype, shape}};
}

absl::StatusOr<Types> Reduce(Op op, const TensorType& x, const Attrs& attrs) {
  RETURN_IF_ERROR(ExpectF32(op, x, "input"));
  ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
  RETURN_IF_ERROR(CheckAxis(op, axis, x.rank()));
  Shape out = x.shape;
  out.erase(out.begin() + axis);
  return Types{F32(out)};
}

absl::StatusOr<Types> LayerNorm(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  RETURN_IF_ERROR(ExpectF32(op, in[0], "input"));
  RETURN_IF_ERROR(ExpectF32(op, in[1], "weight"));
  RETURN_IF_ERROR(ExpectF32(op, in[2], "bias"));
  ASSIGN_OR_RETURN(double eps, attrs.GetFloat("eps"));
  if (!(eps > 0)) return Err(op, absl::StrCat("eps must be positive, got ", eps));
  if (in[0].rank() < 1) return Err(op, "input must have rank >= 1");
  const Shape c = {in[0].shape.back()};
  if (in[1].shape != c || in[2].shape != c)
    return Err(op, absl::StrCat("weight and bias must be ", S(c), " to match input ",
                                S(in[0].shape), ", got ", S(in[1].shape), " and ", S(in[2].shape)));
  return Types{in[0]};
}

absl::StatusOr<Types> Softmax(Op op, const TensorType& x) {
  RETURN_IF_ERROR(ExpectF32(op, x, "input"));
  if (x.rank() < 1) return Err(op, "input must have rank >= 1");
  return Types{x};
}

absl::StatusOr<Types> CausalMask(Op op, const TensorType& x, const Attrs& attrs) {
  RETURN_IF_ERROR(ExpectF32(op, x, "input"));
  RETURN_IF_ERROR(attrs.GetFloat("fill").status());
  if (x.rank() < 2 || x.shape[x.rank() - 1] < x.shape[x.rank() - 2])
    return Err(op, "needs [..., Tq, Tk] with Tk >= Tq, got " + S(x.shape));
  return Types{x};
}

// (x, key i32[2]) -> x, with 0 <= p < 1
absl::StatusOr<Types> Dropout(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  RETURN_IF_ERROR(ExpectF32(op, in[0], "input"));
  if (in[1].dtype != DType::kI32 || in[1].shape != Shape{2})
    return Err(op, "key must be i32[2] (seed, step), got " + TypeToString(in[1]));
  ASSIGN_OR_RETURN(double p, attrs.GetFloat("p"));
  RETURN_IF_ERROR(attrs.GetInt("site").status());
  if (!(p >= 0 && p < 1)) return Err(op, absl::StrCat("p must be in [0, 1), got ", p));
  return Types{in[0]};
}

// The runtime position of a decode step: i32[1].
absl::Status ExpectPosition(Op op, const TensorType& pos) {
  if (pos.dtype != DType::kI32 || pos.shape != Shape{1})
    return Err(op, "pos must be i32[1], got " + TypeToString(pos));
  return absl::OkStatus();
}

// (x [..., Tq, Tk], pos i32[1]) -> x
absl::StatusOr<Types> PositionMask(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  RETURN_IF_ERROR(ExpectF32(op, in[0], "input"));
  RETURN_IF_ERROR(attrs.GetFloat("fill").status());
  RETURN_IF_ERROR(ExpectPosition(op, in[1]));
  if (in[0].rank() < 2) return Err(op, "needs [..., Tq, Tk], got " + S(in[0].shape));
  return Types{in[0]};
}

// (cache [..., T, D], new [..., S, D], pos i32[1]) -> cache, with S <= T
absl::StatusOr<Types> CacheWrite(Op op, absl::Span<const TensorType> in) {
  const TensorType &cache = in[0], &fresh = in[1];
  RETURN_IF_ERROR(ExpectF32(op, cache, "cache"));
  RETURN_IF_ERROR(ExpectF32(op, fresh, "new"));
  RETURN_IF_ERROR(ExpectPosition(op, in[2]));
  const int r = cache.rank();
  bool ok = r >= 2 && fresh.rank() == r && fresh.shape[r - 2] <= cache.shape[r - 2];
  for (int a = 0; ok && a < r; ++a) ok = a == r - 2 || fresh.shape[a] == cache.shape[a];
  if (!ok)
    return Err(op, absl::StrCat("new ", S(fresh.shape), " must match cache ", S(cache.shape),
                                " but for at most as many rows (axis -2)"));
  return Types{cache};
}

// (probs or logits [..., K], targets [...]) -> f32[]
absl::StatusOr<Types> Xent(Op op, absl::Span<const TensorType> in) {
  const TensorType& logits = in[0];
  const TensorType& targets = in[1];
  RETURN_IF_ERROR(ExpectF32(op, logits, "logits"));
  if (targets.dtype != DType::kI32)
    return Err(op, "targets must be i32, got " + TypeToString(targets));
  if (logits.rank() < 1) return Err(op, "logits must have rank >= 1");
  Shape lead(logits.shape.begin(), logits.shape.end() - 1);
  if (lead != targets.shape)
    return Err(op, absl::StrCat("targets ", S(targets.shape), " must match logits ",
                                S(logits.shape), " without the last axis"));
  return Types{F32({})};
}

absl::StatusOr<Types> Expand(Op op, const TensorType& x, const Attrs& attrs) {
  ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
  ASSIGN_OR_RETURN(int64_t size, attrs.GetInt("size"));
  if (axis < 0 || axis > x.rank())
    return Err(op,
               absl::StrCat("axis ", axis, " is out of range for inserting into rank ", x.rank()));
  if (size <= 0) return Err(op, absl::StrCat("size must be positive, got ", size));
  Shape out = x.shape;
  out.insert(out.begin() + axis, size);
  return Types{{x.dtype, out}};
}

absl::StatusOr<Types> LayerNormGrad(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  const TensorType fwd_in[] = {in[0], in[1], in[1]};
  RETURN_IF_ERROR(LayerNorm(op, fwd_in, attrs).status());
  if (in[2] != in[0])
    return Err(op, absl::StrCat("dy ", TypeToString(in[2]), " must match x ", TypeToString(in[0])));
  return Types{in[0], in[1], in[1]};
}

absl::StatusOr<Types> SameAs(Op op, const TensorType& a, const TensorType& b, const char* an,
                             const char* bn) {
  RETURN_IF_ERROR(ExpectF32(op, a, an));
  if (a != b)
    return Err(op,
               absl::StrCat(bn, " ", TypeToString(b), " must match ", an, " ", TypeToString(a)));
  return Types{a};
}

absl::StatusOr<Types> XentGrad(Op op, absl::Span<const TensorType> in) {
  RETURN_IF_ERROR(Xent(op, in.subspan(0, 2)).status());
  if (in[2] != F32({})) return Err(op, "dloss must be f32[], got " + TypeToString(in[2]));
  return Types{in[0]};
}

absl::StatusOr<Types> EmbeddingGrad(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  const TensorType& ids = in[0];
  const TensorType& dy = in[1];
  ASSIGN_OR_RETURN(int64_t rows, attrs.GetInt("rows"));
  if (rows <= 0) return Err(op, absl::StrCat("rows must be positive, got ", rows));
  if (ids.dtype != DType::kI32) return Err(op, "ids must be i32, got " + TypeToString(ids));
  RETURN_IF_ERROR(ExpectF32(op, dy, "dy"));
  if (dy.rank() != ids.rank() + 1 ||
      !std::equal(ids.shape.begin(), ids.shape.end(), dy.shape.begin()))
    return Err(op,
               absl::StrCat("dy ", S(dy.shape), " must be ids ", S(ids.shape), " plus one axis"));
  return Types{F32({rows, dy.shape.back()})};
}

absl::StatusOr<Types> InferTypesImpl(Op op, absl::Span<const TensorType> in, const Attrs& attrs) {
  const OpInfo& info = GetOpInfo(op);
  if (info.arity >= 0 && static_cast<int>(in.size()) != info.arity)
    return Err(op, absl::StrCat("expects ", info.arity, " operands, got ", in.size()));
  if (info.arity < 0 && in.empty()) return Err(op, "expects at least one operand");
  if (HasTrait(op, kFused)) return Err(op, "a fused op takes its types from its body");
  switch (FamilyOf(op)) {
    case Family::kDecl:
    case Family::kFill:
      return Err(op, "declares its own type; nothing to infer");
    case Family::kUnary:
      if (const char* attr = GetOpInfo(op).attr) RETURN_IF_ERROR(attrs.GetFloat(attr).status());
      RETURN_IF_ERROR(ExpectF32(op, in[0], "input"));
      return Types{in[0]};
    case Family::kBinary:
      return Binary(op, in);
    case Family::kTernary:
      return Ternary(op, in);
    case Family::kCast:
      return Cast(op, in[0], attrs);
    case Family::kLookup:
      switch (As<LookupOp>(op)) {
        case LookupOp::kEmbedding:
          return Embedding(op, in);
        case LookupOp::kEmbeddingGrad:
          return EmbeddingGrad(op, in, attrs);
        case LookupOp::kGather:
          return Gather(op, in, attrs);
        case LookupOp::kGatherGrad:
          return GatherGrad(op, in, attrs);
      }
      break;
    case Family::kLinalg:
      return MatMul(op, in, attrs);  // matmul_bias is fused: handled above
    case Family::kLayout:
      switch (As<LayoutOp>(op)) {
        case LayoutOp::kReshape:
          return Reshape(op, in[0], attrs);
        case LayoutOp::kTranspose:
          return Transpose(op, in[0], attrs);
        case LayoutOp::kSlice:
          return Slice(op, in[0], attrs);
        case LayoutOp::kConcat:
          return Concat(op, in, attrs);
        case LayoutOp::kBroadcast:
          return Broadcast(op, in[0], attrs);
        case LayoutOp::kExpand:
          return Expand(op, in[0], attrs);
      }
      break;
    case Family::kReduction:
      return Reduce(op, in[0], attrs);
    case Family::kNorm:
      switch (As<NormOp>(op)) {
        case NormOp::kLayerNorm:
          return LayerNorm(op, in, attrs);
        case NormOp::kLayerNormGrad:
          return LayerNormGrad(op, in, attrs);
        case NormOp::kAddLayerNorm:  // fused: handled above
        case NormOp::kAddLayerNormGrad:
          break;
      }
      break;
    case Family::kSoftmax:
      switch (As<SoftmaxOp>(op)) {
        case SoftmaxOp::kSoftmax:
          return Softmax(op, in[0]);
        case SoftmaxOp::kSoftmaxGrad:
          return SameAs(op, in[0], in[1], "y", "dy");
        case SoftmaxOp::kCausalMask:
          return CausalMask(op, in[0], attrs);
        case SoftmaxOp::kScaleMaskSoftmax:  // fused: handled above
        case SoftmaxOp::kScaleMaskSoftmaxGrad:
          break;
      }
      break;
    case Family::kLoss:
      switch (As<LossOp>(op)) {
        case LossOp::kXent:
          return Xent(op, in);
        case LossOp::kXentGrad:
          return XentGrad(op, in);
        case LossOp::kSoftmaxXent:  // fused: handled above
        case LossOp::kSoftmaxXentGrad:
          break;
      }
      break;
    case Family::kRandom:
      return Dropout(op, in, attrs);
    case Family::kDecode:
      switch (As<DecodeOp>(op)) {
        case DecodeOp::kPositionMask:
          return PositionMask(op, in, attrs);
        case DecodeOp::kCacheWrite:
          return CacheWrite(op, in);
      }
      break;
    case Family::kCollective:  // every operand f32; each result its operand's type
      for (size_t i = 0; i < in.size(); ++i) RETURN_IF_ERROR(ExpectF32(op, in[i], "operand"));
      return Types(in.begin(), in.end());
    case Family::kActivation:  // fused families: handled above
    case Family::kAttention:
    case Family::kOptimizer:
    case Family::kFusion:
      break;
  }
  return Err(op, "no shape rule");
}

}  // namespace

absl::StatusOr<std::vector<TensorType>> InferTypes(Op op, absl::Span<const TensorType> in,
                                                   const Attrs& attrs) {
  auto r = InferTypesImpl(op, in, attrs);
  // Attribute getters do not know the op; every message starts with the op's name.
  const std::string prefix = absl::StrCat(OpName(op), ": ");
  if (!r.ok() && !absl::StartsWith(r.status().message(), prefix))
    return absl::InvalidArgumentError(absl::StrCat(prefix, r.status().message()));
  return r;
}

}  // namespace gptc::ir
