#include "passes/grad_rules.h"

#include <numeric>

#include "absl/strings/str_cat.h"
#include "ir/check.h"

namespace gptc::passes {

using ir::Op;
using ir::ValueId;

ValueId GradContext::Tmp(Op op, std::vector<ValueId> ins, ir::Attrs attrs) {
  return e.Emit(op, std::move(ins), std::move(attrs),
                absl::StrCat("d.", e.graph().value(y).name, ".", ir::OpName(op)));
}

std::string GradContext::GradName(int i) const {
  return "d." + e.graph().value(node.inputs[i]).name;
}

void GradContext::Set(int i, Op op, std::vector<ValueId> ins, ir::Attrs attrs) {
  if (needs[i]) dx[i] = e.Emit(op, std::move(ins), std::move(attrs), GradName(i));
}

namespace {

ValueId Ones(GradContext& c, const ir::TensorType& t) {
  return c.e.Constant(1.0, t, absl::StrCat("d.", c.e.graph().value(c.y).name, ".one"));
}

// Sums g over its leading axes until it has `shape` (the inverse of broadcast).
ValueId SumLeading(GradContext& c, ValueId g, const ir::Shape& shape, const std::string& name) {
  const ir::Shape gs = c.type(g).shape;  // copies: emitting may reallocate the graph's values
  const size_t lead = gs.size() - shape.size();
  if (lead == 0) return g;
  ir::Shape flat = shape;
  flat.insert(flat.begin(), ir::NumElements(ir::Shape(gs.begin(), gs.begin() + lead)));
  ValueId r = c.Tmp(Op::kReshape, {g}, {{"shape", flat}});
  return c.e.Emit(Op::kSum, {r}, {{"axis", int64_t{0}}}, name);
}

void AddRule(GradContext& c) {
  if (c.needs[0]) c.dx[0] = c.dy;
  if (c.needs[1]) c.dx[1] = c.dy;
}
void SubRule(GradContext& c) {
  if (c.needs[0]) c.dx[0] = c.dy;
  c.Set(1, Op::kNeg, {c.dy});
}
void MulRule(GradContext& c) {
  c.Set(0, Op::kMul, {c.dy, c.in(1)});
  c.Set(1, Op::kMul, {c.dy, c.in(0)});
}
void DivRule(GradContext& c) {  // y = a / b: da = dy / b, db = -dy * y / b
  c.Set(0, Op::kDiv, {c.dy, c.in(1)});
  if (c.needs[1]) c.Set(1, Op::kNeg, {c.Tmp(Op::kDiv, {c.Tmp(Op::kMul, {c.dy, c.y}), c.in(1)})});
}
void MinimumRule(GradContext& c) {  // the gradient goes to a where a <= b, else to b
  ValueId a_wins = c.Tmp(Op::kStep, {c.Tmp(Op::kSub, {c.in(1), c.in(0)})});
  ValueId da = c.Tmp(Op::kMul, {c.dy, a_wins});
  if (c.needs[0]) c.dx[0] = da;
  c.Set(1, Op::kSub, {c.dy, da});
}
void MaximumRule(GradContext& c) {  // the gradient goes to a where a >= b, else to b
  ValueId a_wins = c.Tmp(Op::kStep, {c.Tmp(Op::kSub, {c.in(0), c.in(1)})});
  ValueId da = c.Tmp(Op::kMul, {c.dy, a_wins});
  if (c.needs[0]) c.dx[0] = da;
  c.Set(1, Op::kSub, {c.dy, da});
}
// d select(c, a, b): dy where c picks a goes to a, the rest to b; none to the condition.
void SelectRule(GradContext& c) {
  const ir::TensorType t = c.type(c.y);
  ValueId zero = c.e.Constant(0.0, t, absl::StrCat("d.", c.e.graph().value(c.y).name, ".zero"));
  ValueId da = c.Tmp(Op::kSelect, {c.in(0), c.dy, zero});
  if (c.needs[1]) c.dx[1] = da;
  c.Set(2, Op::kSub, {c.dy, da});
}
void NegRule(GradContext& c) { c.Set(0, Op::kNeg, {c.dy}); }
void ScaleRule(GradContext& c) { c.Set(0, Op::kScale, {c.dy}, c.node.attrs); }
void ExpRule(GradContext& c) { c.Set(0, Op::kMul, {c.dy, c.y}); }
void LogRule(GradContext& c) { c.Set(0, Op::kDiv, {c.dy, c.in(0)}); }
void SqrtRule(GradContext& c) {  // d sqrt(x) = dy / (2 sqrt(x))
  c.Set(0, Op::kScale, {c.Tmp(Op::kDiv, {c.dy, c.y})}, {{"factor", 0.5}});
}
void RsqrtRule(GradContext& c) {  // d x^(-1/2) = -dy y^3 / 2
  ValueId y3 = c.Tmp(Op::kMul, {c.Tmp(Op::kMul, {c.y, c.y}), c.y});
  c.Set(0, Op::kScale, {c.Tmp(Op::kMul, {c.dy, y3})}, {{"factor", -0.5}});
}
void SinRule(GradContext& c) { c.Set(0, Op::kMul, {c.dy, c.Tmp(Op::kCos, {c.in(0)})}); }
void CosRule(GradContext& c) {
  c.Set(0, Op::kNeg, {c.Tmp(Op::kMul, {c.dy, c.Tmp(Op::kSin, {c.in(0)})})});
}
// d sigmoid(x) = dy y (1 - y)
void SigmoidRule(GradContext& c) {
  ValueId one_minus = c.Tmp(Op::kSub, {Ones(c, c.type(c.y)), c.y});
  c.Set(0, Op::kMul, {c.dy, c.Tmp(Op::kMul, {c.y, one_minus})});
}
// d x s(x) = dy s (1 + x (1 - s)), s = sigmoid(x)
void SiluRule(GradContext& c) {
  ValueId s = c.Tmp(Op::kSigmoid, {c.in(0)});
  ValueId one = Ones(c, c.type(c.y));
  ValueId inner = c.Tmp(Op::kAdd, {one, c.Tmp(Op::kMul, {c.in(0), c.Tmp(Op::kSub, {one, s})})});
  c.Set(0, Op::kMul, {c.dy, c.Tmp(Op::kMul, {s, inner})});
}
// d x^p = dy p x^(p-1)
void PowRule(GradContext& c) {
  const double p = *c.node.attrs.GetFloat("exponent");
  ValueId d = c.Tmp(Op::kPow, {c.in(0)}, {{"exponent", p - 1}});
  c.Set(0, Op::kMul, {c.dy, c.Tmp(Op::kScale, {d}, {{"factor", p}})});
}
void TanhRule(GradContext& c) {  // d tanh(x) = dy (1 - y^2)
  ValueId one_minus = c.Tmp(Op::kSub, {Ones(c, c.type(c.y)), c.Tmp(Op::kMul, {c.y, c.y})});
  c.Set(0, Op::kMul, {c.dy, one_minus});
}
void GeluRule(GradContext& c) { c.Set(0, Op::kGeluGrad, {c.in(0), c.dy}); }
void GeluErfRule(GradContext& c) { c.Set(0, Op::kGeluErfGrad, {c.in(0), c.dy}); }
void NoGradient(GradContext&) {}

// Gradients are f32 whatever the value's type: a bf16 value's gradient is its f32 gradient.
void CastRule(GradContext& c) {
  if (!c.needs[0]) return;
  if (c.type(c.dy).dtype == ir::DType::kF32)
    c.dx[0] = c.dy;
  else
    c.Set(0, Op::kCast, {c.dy}, {{"dtype", std::string("f32")}});
}

void MatMulRule(GradContext& c) {
  const bool ta = *c.node.attrs.GetBool("transpose_a"), tb = *c.node.attrs.GetBool("transpose_b");
  ValueId a = c.in(0), b = c.in(1), dy = c.dy;
  // A bf16 product's gradients are bf16 products too (as under torch.autocast), of dy
  // rounded to bf16, accumulated in f32.
  if (c.type(a).dtype == ir::DType::kBF16)
    dy = c.Tmp(Op::kCast, {dy}, {{"dtype", std::string("bf16")}});
  const int ra = c.type(a).rank(), rb = c.type(b).rank();
  auto attrs = [](bool x, bool y) {
    ir::Attrs at;
    if (x) at.Set("transpose_a", true);
    if (y) at.Set("transpose_b", true);
    return at;
  };
  // A 2-D b shared across a's batch. With ta the shared operand would end up on the left of a
  // matmul, which has no shared form, so b is broadcast to the batch and its gradient summed back.
  const bool shared_b = rb == 2 && ra > 2;
  if (shared_b && !ta) {
    c.Set(0, Op::kMatMul, {dy, b}, attrs(false, !tb));  // dA = dC B^T (or dC B)
    if (c.needs[1]) {
      // dB = A^T dC (or dC^T A), contracting over the batch and rows together.
      const ir::Shape as = c.type(a).shape;
      const ir::Shape ds = c.type(dy).shape;
      const int64_t rows = ir::NumElements(as) / as.back();
      ValueId a2 = c.Tmp(Op::kReshape, {a}, {{"shape", ir::Shape{rows, as.back()}}});
      ValueId d2 = c.Tmp(Op::kReshape, {dy}, {{"shape", ir::Shape{rows, ds.back()}}});
      if (tb)
        c.Set(1, Op::kMatMul, {d2, a2}, attrs(true, false));
      else
        c.Set(1, Op::kMatMul, {a2, d2}, attrs(true, false));
    }
    return;
  }
  ValueId bb = b;
  if (shared_b) {
    ir::Shape full(c.type(a).shape.begin(), c.type(a).shape.end() - 2);
    full.push_back(c.type(b).shape[0]);
    full.push_back(c.type(b).shape[1]);
    bb = c.Tmp(Op::kBroadcast, {b}, {{"shape", full}});
  }
  // Standard rules for C = op(A) op(B) with the same batch on both sides.
  if (!ta && !tb) {
    c.Set(0, Op::kMatMul, {dy, bb}, attrs(false, true));
    if (c.needs[1]) c.dx[1] = c.Tmp(Op::kMatMul, {a, dy}, attrs(true, false));
  } else if (!ta && tb) {
    c.Set(0, Op::kMatMul, {dy, bb}, attrs(false, false));
    if (c.needs[1]) c.dx[1] = c.Tmp(Op::kMatMul, {dy, a}, attrs(true, false));
  } else if (ta && !tb) {
    c.Set(0, Op::kMatMul, {bb, dy}, attrs(false, true));
    if (c.needs[1]) c.dx[1] = c.Tmp(Op::kMatMul, {a, dy}, attrs(false, false));
  } else {
    c.Set(0, Op::kMatMul, {bb, dy}, attrs(true, true));
    if (c.needs[1]) c.dx[1] = c.Tmp(Op::kMatMul, {dy, a}, attrs(true, true));
  }
  if (c.needs[1]) c.dx[1] = SumLeading(c, c.dx[1], c.type(b).shape, c.GradName(1));
}

void ReshapeRule(GradContext& c) {
  c.Set(0, Op::kReshape, {c.dy}, {{"shape", c.type(c.in(0)).shape}});
}
void TransposeRule(GradContext& c) {
  const std::vector<int64_t> perm = *c.node.attrs.GetInts("perm");
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
  c.Set(0, Op::kTranspose, {c.dy}, {{"perm", inv}});
}
void ConcatRule(GradContext& c) {
  const int64_t axis = *c.node.attrs.GetInt("axis");
  int64_t offset = 0;
  for (size_t i = 0; i < c.node.inputs.size(); ++i) {
    const int64_t len = c.type(c.in(i)).shape[axis];
    c.Set(i, Op::kSlice, {c.dy}, {{"axis", axis}, {"start", offset}, {"end", offset + len}});
    offset += len;
  }
}
void BroadcastRule(GradContext& c) {
  if (c.needs[0]) c.dx[0] = SumLeading(c, c.dy, c.type(c.in(0)).shape, c.GradName(0));
}
void ExpandRule(GradContext& c) {
  c.Set(0, Op::kSum, {c.dy}, {{"axis", *c.node.attrs.GetInt("axis")}});
}

ir::Attrs ExpandAttrs(const GradContext& c) {
  const int64_t axis = *c.node.attrs.GetInt("axis");
  return {{"axis", axis}, {"size", c.type(c.in(0)).shape[axis]}};
}
void SumRule(GradContext& c) { c.Set(0, Op::kExpand, {c.dy}, ExpandAttrs(c)); }
void MeanRule(GradContext& c) {
  const double n = static_cast<double>(c.type(c.in(0)).shape[*c.node.attrs.GetInt("axis")]);
  c.Set(0, Op::kScale, {c.Tmp(Op::kExpand, {c.dy}, ExpandAttrs(c))}, {{"factor", 1.0 / n}});
}
void MaxRule(GradContext& c) {  // to every position equal to the max (all of them on ties)
  ValueId at_max =
      c.Tmp(Op::kStep, {c.Tmp(Op::kSub, {c.in(0), c.Tmp(Op::kExpand, {c.y}, ExpandAttrs(c))})});
  c.Set(0, Op::kMul, {c.Tmp(Op::kExpand, {c.dy}, ExpandAttrs(c)), at_max});
}

void LayerNormRule(GradContext& c) {
  std::vector<ValueId> g = c.e.EmitMulti(Op::kLayerNormGrad, {c.in(0), c.in(1), c.dy}, c.node.attrs,
                                         {c.GradName(0), c.GradName(1), c.GradName(2)});
  for (int i = 0; i < 3; ++i)
    if (c.needs[i]) c.dx[i] = g[i];
}
void SoftmaxRule(GradContext& c) { c.Set(0, Op::kSoftmaxGrad, {c.y, c.dy}); }
// The gradient of a mask is the same mask with 0 for -inf: masked entries get no gradient.
void CausalMaskRule(GradContext& c) { c.Set(0, Op::kCausalMask, {c.dy}, {{"fill", 0.0}}); }
// The mask is recomputed from the same key: dx = dropout(dy), kept elements scaled alike.
void DropoutRule(GradContext& c) { c.Set(0, Op::kDropout, {c.dy, c.in(1)}, c.node.attrs); }
void XentRule(GradContext& c) { c.Set(0, Op::kXentGrad, {c.in(0), c.in(1), c.dy}); }
void EmbeddingRule(GradContext& c) {
  c.Set(0, Op::kEmbeddingGrad, {c.in(1), c.dy}, {{"rows", c.type(c.in(0)).shape[0]}});
}
void GatherRule(GradContext& c) {
  const int64_t axis = *c.node.attrs.GetInt("axis");
  c.Set(0, Op::kGatherGrad, {c.in(1), c.dy},
        {{"axis", axis}, {"size", c.type(c.in(0)).shape[axis]}});
}

}  // namespace

namespace {

GradRule UnaryGradRule(ir::UnaryOp op) {
  using U = ir::UnaryOp;
  switch (op) {
    case U::kNeg:
      return NegRule;
    case U::kScale:
      return ScaleRule;
    case U::kExp:
      return ExpRule;
    case U::kLog:
      return LogRule;
    case U::kSqrt:
      return SqrtRule;
    case U::kRsqrt:
      return RsqrtRule;
    case U::kTanh:
      return TanhRule;
    case U::kGelu:
      return GeluRule;
    case U::kGeluErf:
      return GeluErfRule;
    case U::kStep:
      return NoGradient;
    case U::kSin:
      return SinRule;
    case U::kCos:
      return CosRule;
    case U::kSigmoid:
      return SigmoidRule;
    case U::kSilu:
      return SiluRule;
    case U::kPow:
      return PowRule;
    case U::kStopGradient:
      return NoGradient;
  }
  return nullptr;
}

GradRule BinaryGradRule(ir::BinaryOp op) {
  using B = ir::BinaryOp;
  switch (op) {
    case B::kAdd:
      return AddRule;
    case B::kSub:
      return SubRule;
    case B::kMul:
      return MulRule;
    case B::kDiv:
      return DivRule;
    case B::kMinimum:
      return MinimumRule;
    case B::kMaximum:
      return MaximumRule;
    case B::kGeluGrad:  // backward ops: not differentiated again
    case B::kGeluErfGrad:
      return nullptr;
  }
  return nullptr;
}

GradRule TernaryGradRule(ir::TernaryOp op) {
  switch (op) {
    case ir::TernaryOp::kSelect:
      return SelectRule;
  }
  return nullptr;
}

GradRule LookupGradRule(ir::LookupOp op) {
  using L = ir::LookupOp;
  switch (op) {
    case L::kEmbedding:
      return EmbeddingRule;
    case L::kGather:
      return GatherRule;
    case L::kEmbeddingGrad:  // backward ops: not differentiated again
    case L::kGatherGrad:
      return nullptr;
  }
  return nullptr;
}

GradRule LayoutGradRule(ir::LayoutOp op) {
  using L = ir::LayoutOp;
  switch (op) {
    case L::kReshape:
      return ReshapeRule;
    case L::kTranspose:
      return TransposeRule;
    case L::kSlice:
      return nullptr;  // autodiff joins the slices of a value (slice_grads.h)
    case L::kConcat:
      return ConcatRule;
    case L::kBroadcast:
      return BroadcastRule;
    case L::kExpand:
      return ExpandRule;
  }
  return nullptr;
}

GradRule ReductionGradRule(ir::ReductionOp op) {
  using R = ir::ReductionOp;
  switch (op) {
    case R::kSum:
      return SumRule;
    case R::kMean:
      return MeanRule;
    case R::kMax:
      return MaxRule;
  }
  return nullptr;
}

}  // namespace

// Fused ops are made after autodiff, from ops that have rules; backward ops have no rule of
// their own; the decode ops only run in inference graphs; all_reduce is inserted after
// autodiff, on the gradients.
GradRule FindGradRule(Op op) {
  using F = ir::Family;
  if (ir::HasTrait(op, ir::kFused)) return nullptr;
  switch (ir::FamilyOf(op)) {
    case F::kDecl:  // no operands
      return nullptr;
    case F::kFill:
      return NoGradient;
    case F::kUnary:
      return UnaryGradRule(ir::As<ir::UnaryOp>(op));
    case F::kBinary:
      return BinaryGradRule(ir::As<ir::BinaryOp>(op));
    case F::kTernary:
      return TernaryGradRule(ir::As<ir::TernaryOp>(op));
    case F::kCast:
      return CastRule;
    case F::kLookup:
      return LookupGradRule(ir::As<ir::LookupOp>(op));
    case F::kLinalg:
      return MatMulRule;
    case F::kLayout:
      return LayoutGradRule(ir::As<ir::LayoutOp>(op));
    case F::kReduction:
      return ReductionGradRule(ir::As<ir::ReductionOp>(op));
    case F::kNorm:
      return op == Op::kLayerNorm ? LayerNormRule : nullptr;
    case F::kSoftmax:
      if (op == Op::kCausalMask) return CausalMaskRule;
      return op == Op::kSoftmax ? SoftmaxRule : nullptr;
    case F::kLoss:
      return op == Op::kXent ? XentRule : nullptr;
    case F::kRandom:
      return DropoutRule;
    case F::kDecode:
    case F::kActivation:
    case F::kAttention:
    case F::kOptimizer:
    case F::kCollective:
    case F::kFusion:
      return nullptr;
  }
  return nullptr;
}

}  // namespace gptc::passes
