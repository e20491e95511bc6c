// How `gptc bench` accounts a train step: the model FLOPs of each node (MFU's numerator) and
// what each kernel is for, for the per-kind summary.
#pragma once

#include <string>

#include "ir/graph.h"

namespace gptc {

bool IsGemm(ir::Op op);
bool IsAttention(ir::Op op);

// A GEMM's 2*M*N*K (batch included), or the GEMMs of a fused attention's body counted in
// full, as if the masked half of the scores were computed (nanoGPT's and PaLM's MFU count
// them so; the kernel skips them, so its own rate in these units can exceed the peak); 0 for
// anything else.
double ModelFlops(const ir::Graph& g, const ir::Node& n);

// gemm, attention, optimizer (AdamW: the adamw kernel, or the unfused updates and gradient
// norm, all named adamw.*), or other.
std::string KernelKind(const ir::Graph& g, const ir::Node& n);

// A GEMM's operand types and form, e.g. "f32[64,128] x f32[128,384] A.B +bias" (+C:
// matmul_add's accumulation).
std::string GemmKey(const ir::Graph& g, const ir::Node& n);

}  // namespace gptc
