// Causal self-attention in bf16 on AMX tiles, forward and backward: the mixed-precision form
// of the fused attention ops (ir/fused_ops.cc), as an ahead-of-time kernel that their Halide
// pipelines call as an extern stage (lower_attention.cc offers it beside the Halide kernel
// and the tuner keeps the faster). Halide 14 cannot emit whole tdpbf16ps (amx_gemm.h).
//
// One task per (batch, head), after flash-attention 2 for a CPU's caches: the head's q, k, v
// (and dy) are rounded to bf16 once and packed into the tiles' layouts (amx_pack.h); the
// queries go in blocks of 32 rows, and a block's products stop at its diagonal tile.
//  - Forward, per block: S = q k^T on tiles; the softmax in f32 (row max, exp, sum); the
//    probabilities rounded to bf16; o = p v on tiles.
//  - Backward, per block: S and dP = dy v^T on tiles; P and dS = P (dP - rowsum(P dP)) scale
//    in f32; dq = dS k on tiles; P and dS rounded and written into the packed B layout of
//    the head's [T, T] (a block of 32 queries is one K tile). Then per block of 32 keys:
//    dk^T = q^T dS and dv^T = dy^T P on tiles, over the queries from the block's diagonal on,
//    so no [T, T] matrix is ever transposed.
// The softmax statistics and every accumulation stay f32. The tile instructions are the
// GEMM's micro-kernel (amx_tiles.h), on the hardware or emulated.
#pragma once

#include <cstdint>

namespace gptc::codegen {

// Whether the AMX kernels take attention over T positions with head size D: whole tiles.
bool AmxAttentionFits(int64_t t, int64_t d);

}  // namespace gptc::codegen

// The extern stages' entry points. Operands are Halide's 4-D views (d, t, h, b) of
// [B, H, T, D] tensors (k and v: H / repeat heads), bf16 or f32 (rounded on reading), any
// strides; results f32 or bf16. `emulated`: the plain C++ tiles. Return 0, as Halide expects.
struct halide_buffer_t;
extern "C" int gptc_amx_attention(int32_t emulated, int32_t repeat, float scale, halide_buffer_t* q,
                                  halide_buffer_t* k, halide_buffer_t* v, halide_buffer_t* out);
extern "C" int gptc_amx_attention_grad(int32_t emulated, int32_t repeat, float scale,
                                       halide_buffer_t* q, halide_buffer_t* k, halide_buffer_t* v,
                                       halide_buffer_t* dy, halide_buffer_t* dq,
                                       halide_buffer_t* dk, halide_buffer_t* dv);
// The same writing bf16 copies of dq, dk and dv besides them (a node with copies).
extern "C" int gptc_amx_attention_grad_copies(int32_t emulated, int32_t repeat, float scale,
                                              halide_buffer_t* q, halide_buffer_t* k,
                                              halide_buffer_t* v, halide_buffer_t* dy,
                                              halide_buffer_t* dq, halide_buffer_t* dk,
                                              halide_buffer_t* dv, halide_buffer_t* dq16,
                                              halide_buffer_t* dk16, halide_buffer_t* dv16);
