// Graphs shared by several tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frontend/model.h"
#include "frontend/nn/gpt_config.h"
#include "ir/graph.h"

namespace gptc::testing {

// A small verified graph that uses every op of ops.def at least once (tests assert this, so a
// new op must be added here, which puts it under the round-trip and interpreter tests).
ir::Graph AllOpsGraph();

// The `tiny` GPT's train step through the whole pipeline (fused unless `fuse` is false): it
// holds every fused op.
ir::Graph TinyTrainStep(bool fuse = true, double dropout = 0.0, const std::string& gelu = "tanh");

// tiny's train step with its cross-entropy in 4 chunks of 32 rows (passes/chunk_xent.h), which
// tiny's small logits would not get by default: it holds matmul_add. `recompute`: the
// chunks' gradients from logits recomputed in the backward instead of with the forward.
ir::Graph TinyChunkedTrainStep(bool recompute = false);

// "f32[a,b,...]": a tensor type in the IR's text form.
std::string F32Type(const std::vector<int64_t>& shape);

// The fused attention ops over graph values %q, %k, %v, %dy of shape [b, h, t, d], with their
// bodies as the fuse pass writes them: %y = causal_attention(..) and %dq, %dk, %dv =
// causal_attention_grad(..), as lines of a graph's text.
std::string AttentionOpsText(int64_t b, int64_t h, int64_t t, int64_t d, double scale);

// The GPT family's Model of `cfg` (checked: tests pass valid configs).
Model GptModelOf(const GptConfig& cfg);

}  // namespace gptc::testing
