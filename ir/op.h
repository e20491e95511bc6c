// Op enumeration and per-op facts, generated from ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gptc::ir {

enum class Op : uint16_t {
#define OP(e, text, arity, outs, traits) e,
#include "ir/ops.def"
#undef OP
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
};

struct OpInfo {
  const char* name;
  int arity;        // -1: variadic
  int num_outputs;  // -1: variadic
  uint32_t traits;
};

const OpInfo& GetOpInfo(Op op);
inline const char* OpName(Op op) { return GetOpInfo(op).name; }
inline bool HasTrait(Op op, OpTrait t) { return (GetOpInfo(op).traits & t) != 0; }
std::optional<Op> OpFromName(std::string_view name);
int NumOps();

}  // namespace gptc::ir
