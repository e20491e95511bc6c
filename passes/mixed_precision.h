// Mixed precision (--precision=bf16): every GEMM of a step reads bf16 operands and
// accumulates in f32, as torch.autocast('cpu', dtype=torch.bfloat16) runs a matmul.
//
// Each f32 operand of a matmul or matmul_bias becomes cast(operand, bf16), one cast per value
// shared by all the GEMMs that read it: a weight is rounded once per step for the forward
// product and the backward one that reads it; an activation once, for its forward product
// and its weight gradient, so the memory plan keeps the bf16 copy alive for the backward
// pass, not the f32 one, when GEMMs are its only readers. Everything else stays f32: the
// master weights and AdamW, LayerNorm, softmax and attention, the loss, the residual stream,
// gradients (each GEMM's result is f32).
//
// Runs after fusion (the fused attention keeps its f32 q, k and v; matmul_bias is a GEMM like
// any other) and before memory planning.
#pragma once

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

absl::StatusOr<ir::Graph> CastGemmOperands(const ir::Graph& g, ir::DType to);

}  // namespace gptc::passes
