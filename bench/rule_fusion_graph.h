// Blocks that no named fusion pattern knows, written from the DSL's primitives as a model of
// another family would write them: an RMSNorm (x * rsqrt(mean(x^2) + eps) * w), a SwiGLU
// (silu(x W1) * (x W2)) and a softmax (exp(x - max) / sum), each read by a matmul, then
// differentiated. `gptc bench --fusion` times the kernels the generic rule makes of them
// against their unfused ops, at a preset's shapes.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc {

// Rows of `width` (tokens x embedding) for the norm and the SwiGLU, rows of `keys` for the
// softmax; the gradient graph (autodiff, not yet fused).
absl::StatusOr<ir::Graph> RuleFusionGraph(int64_t tokens, int64_t width, int64_t keys);

}  // namespace gptc
