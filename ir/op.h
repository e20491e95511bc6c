// Op enumeration and per-op facts, generated from ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "ir/check.h"

namespace gptc::ir {

enum class Op : uint16_t {
#define OP(e, text, arity, outs, family, traits) e,
#include "ir/ops.def"
};

// Traits: bit flags used by passes to reason about ops without naming each one.
enum OpTrait : uint32_t {
  kNone = 0,
  kDecl = 1u << 0,         // graph argument (input or parameter); type is declared, not inferred
  kElementwise = 1u << 1,  // out[i] depends only on in[i] of every input
  kCommutative = 1u << 2,
  kLayout = 1u << 3,  // moves data without arithmetic
  kReduction = 1u << 4,
  kFused = 1u << 5,  // made by the fuse pass; carries a body (Node::body)
  kStrided =
      1u << 6,  // its kernel reads and writes strided views (the memory plan's, ir/placement.h)
  // A fused op whose kernel rounds a result to bf16 when the node declares it bf16, and
  // stores bf16 copies of results as extra results: its body then yields cast(result) in
  // the result's place or after the op's own (passes/mixed_precision.h).
  kStoresBF16 = 1u << 7,
  // A fused op whose kernel widens a bf16 operand to f32 as it reads it: its body then starts
  // with cast(operand, f32) (passes/mixed_precision.h's LoadCastsInConsumers).
  kLoadsBF16 = 1u << 8,
};

// An op's family (its column in ops.def): what a pass or backend dispatches on first.
enum class Family : uint8_t {
  kDecl,
  kFill,
  kUnary,
  kBinary,
  kTernary,
  kCast,
  kLookup,
  kLinalg,
  kLayout,
  kReduction,
  kNorm,
  kSoftmax,
  kLoss,
  kRandom,
  kDecode,
  kActivation,
  kAttention,
  kOptimizer,
  kCollective,
  kFusion,
};

struct OpInfo {
  const char* name;
  int arity;        // -1: variadic
  int num_outputs;  // -1: variadic
  Family family;
  uint32_t traits;
  int index_in_family;  // the op's place in its family's enum below
  const char* attr;     // unary ops: the float attribute they take (scale's factor), or nullptr
};

const OpInfo& GetOpInfo(Op op);
inline const char* OpName(Op op) { return GetOpInfo(op).name; }
inline Family FamilyOf(Op op) { return GetOpInfo(op).family; }
inline bool HasTrait(Op op, OpTrait t) { return (GetOpInfo(op).traits & t) != 0; }
std::optional<Op> OpFromName(std::string_view name);
int NumOps();
const char* FamilyName(Family f);

// One enum per family, in ops.def's order, so a switch over a family's ops lists exactly
// them: `switch (As<UnaryOp>(op))` after `case Family::kUnary:`.
template <typename E>
struct FamilyEnum;
#define GPTC_FAMILY_ENUM(E, F)                   \
  template <>                                    \
  struct FamilyEnum<E> {                         \
    static constexpr Family kFamily = Family::F; \
  };

enum class DeclOp : uint16_t {
#define OP_DECL(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(DeclOp, kDecl)
enum class FillOp : uint16_t {
#define OP_FILL(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(FillOp, kFill)
enum class UnaryOp : uint16_t {
#define OP_UNARY(name, text, traits) k##name,
#define OP_UNARY_ATTR(name, text, traits, attr) k##name,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(UnaryOp, kUnary)
enum class BinaryOp : uint16_t {
#define OP_BINARY(name, text, traits) k##name,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(BinaryOp, kBinary)
enum class TernaryOp : uint16_t {
#define OP_TERNARY(name, text, traits) k##name,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(TernaryOp, kTernary)
enum class CastOp : uint16_t {
#define OP_CAST(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(CastOp, kCast)
enum class LookupOp : uint16_t {
#define OP_LOOKUP(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(LookupOp, kLookup)
enum class LinalgOp : uint16_t {
#define OP_LINALG(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(LinalgOp, kLinalg)
enum class LayoutOp : uint16_t {
#define OP_LAYOUT(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(LayoutOp, kLayout)
enum class ReductionOp : uint16_t {
#define OP_REDUCTION(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(ReductionOp, kReduction)
enum class NormOp : uint16_t {
#define OP_NORM(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(NormOp, kNorm)
enum class SoftmaxOp : uint16_t {
#define OP_SOFTMAX(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(SoftmaxOp, kSoftmax)
enum class LossOp : uint16_t {
#define OP_LOSS(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(LossOp, kLoss)
enum class RandomOp : uint16_t {
#define OP_RANDOM(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(RandomOp, kRandom)
enum class DecodeOp : uint16_t {
#define OP_DECODE(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(DecodeOp, kDecode)
enum class ActivationOp : uint16_t {
#define OP_ACTIVATION(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(ActivationOp, kActivation)
enum class AttentionOp : uint16_t {
#define OP_ATTENTION(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(AttentionOp, kAttention)
enum class OptimizerOp : uint16_t {
#define OP_OPTIMIZER(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(OptimizerOp, kOptimizer)
enum class CollectiveOp : uint16_t {
#define OP_COLLECTIVE(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(CollectiveOp, kCollective)
enum class FusionOp : uint16_t {
#define OP_FUSION(e, text, arity, outs, traits) e,
#include "ir/ops.def"
};
GPTC_FAMILY_ENUM(FusionOp, kFusion)
#undef GPTC_FAMILY_ENUM

// The op as a member of its family's enum; `op` must be of that family.
template <typename E>
E As(Op op) {
  const OpInfo& info = GetOpInfo(op);
  GPTC_CHECK(info.family == FamilyEnum<E>::kFamily)
      << OpName(op) << " is not a " << FamilyName(FamilyEnum<E>::kFamily) << " op";
  return static_cast<E>(info.index_in_family);
}

}  // namespace gptc::ir
