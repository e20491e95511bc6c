// Mixed precision (--precision=bf16): every GEMM of a step reads bf16 operands and
// accumulates in f32, as torch.autocast('cpu', dtype=torch.bfloat16) runs a matmul.
//
// Each f32 operand of a matmul or matmul_bias becomes cast(operand, bf16), one cast per value
// shared by all the GEMMs that read it: a weight is rounded once per step for the forward
// product and the backward one that reads it; an activation once, for its forward product
// and its weight gradient, so the memory plan keeps the bf16 copy alive for the backward
// pass, not the f32 one, when GEMMs are its only readers.
//
// The fused attention's products do the same (autocast runs q k^T and p v in bf16): q, k and
// v become views of one bf16 copy of the qkv projection, read by the forward and the
// backward kernels alike (so the f32 projection dies at once), and the body takes the
// templates' mixed-precision form, which rounds the probabilities, dy and the score
// gradient where a product reads them (ir/fused_ops.cc). Everything else stays f32: the
// master weights and AdamW, LayerNorm, the softmax and its statistics, the loss, the
// residual stream, gradients (but the GELU output's), and every product's result that is
// read in f32 (NarrowGemmResults below stores the others in bf16).
//
// The pre-activation saved for the GELU backward kernel is stored in bf16 too
// (KeepSavedActivationsIn below).
//
// Runs after fusion (matmul_bias is a GEMM like any other) and before memory planning.
#pragma once

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

// The steps below (the pass "bf16").
absl::StatusOr<ir::Graph> CastGemmOperands(const ir::Graph& g, ir::DType to);

// Each f32 operand of a GEMM read through a cast to `to`, one per value.
absl::StatusOr<ir::Graph> CastEveryGemmOperand(const ir::Graph& g, ir::DType to);

// The activations the forward pass keeps for the GELU backward (bias_gelu_grad, or
// gelu_grad without biases: the MLP's pre-activation, the largest after q, k and v), stored as `to`
// right after they are made and widened back to f32 just before the backward pass reads them, as
// autocast stores those GEMM outputs in bf16: the f32 originals die after their forward readers.
// The forward pass is everything before the loss (the step's first output); a graph without a
// backward pass is unchanged. The bf16 GELU output the MLP projection's weight gradient reads is
// recomputed in the backward pass from the saved pre-activation instead of kept (one elementwise
// kernel per layer).
absl::StatusOr<ir::Graph> KeepSavedActivationsIn(const ir::Graph& g, ir::DType to);

// A lone elementwise op next to a cast (its result cast to bf16, or an operand widened from
// bf16) as a one-op generic fusion, so that the steps after move the casts into its
// kernel as they do for fused ops: without biases the MLP's GELU and its gradient are
// such ops (with them, bias_gelu and its gradient).
absl::StatusOr<ir::Graph> WrapElementwiseNextToCasts(const ir::Graph& g);

// GEMM results stored in bf16, as autocast stores a matmul's output: a matmul of bf16
// operands whose f32 result is cast to bf16 and otherwise read only by kernels that widen
// as they read (kLoadsBF16) rounds its result as it stores it (dtype="bf16"). The casts go,
// and the widening readers read the bf16 result (LoadCastsInConsumers, after): the MLP's
// pre-activation is written once in bf16, where it was written in f32, read by a cast
// kernel and written again, and the forward GELU reads the same rounded pre-activation as
// its backward and its recomputation (before, it read the f32 one). A cast as the only
// reader is folded exactly; a widening reader sees the rounded value. A result no cast
// reads stays f32 (gradients: the GELU backward writes over its f32 operand in place).
absl::StatusOr<ir::Graph> NarrowGemmResults(const ir::Graph& g);

// A cast to bf16 of a layout op's result (transpose, reshape, slice, concat) moved up to the
// kernels that make the layout op's operands, where every value on the way is read only
// there and every such kernel can store bf16 (trait kStoresBF16): the layout ops then move
// bf16, and StoreCastsInProducers (after) has the kernels round as they store. The
// attention output is cast after its transpose into [B, T, C], and the qkv gradient after
// the concat of dq, dk and dv; both casts go. Where a kernel on the way cannot store bf16,
// or a value is read elsewhere too, the cast stays (moved, it would be several kernels).
absl::StatusOr<ir::Graph> SinkCastsThroughLayouts(const ir::Graph& g);

// Casts stored by the kernel that makes their operand: where every reader of a result of a
// fused node whose kernel can store bf16 (trait kStoresBF16: add_layernorm's norm, GELU,
// generic fusions) is a cast to bf16, the node yields the cast itself (its body ends in
// it; ir/fused_ops.h) and the cast kernels go. The LayerNorm and GELU outputs the GEMMs
// read are then written once, in bf16, instead of written in f32, read and written again.
absl::StatusOr<ir::Graph> StoreCastsInProducers(const ir::Graph& g);

// The converse: where every reader of a widening cast (bf16 to f32) is a fused node whose
// kernel can widen as it reads (trait kLoadsBF16: the bias-GELU kernels), each reads the bf16
// value itself (its body starts with the cast) and the cast kernel goes: the GELU backward
// and its recomputation read the saved bf16 pre-activation directly.
absl::StatusOr<ir::Graph> LoadCastsInConsumers(const ir::Graph& g);

}  // namespace gptc::passes
