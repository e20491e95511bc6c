// The GPT model: token + learned position embeddings, n_layer blocks, final LayerNorm, and a
// vocabulary head tied to the token embedding; loss is the mean cross-entropy.
//
//   absl::StatusOr<GptGraph> m = BuildGpt(cfg);   // m->graph: (tokens, targets) -> logits, loss
//   ir::LiteralMap params = InitParams(m->params, /*seed=*/1337);
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/param_init.h"
#include "ir/graph.h"

namespace gptc::nn {

struct GptGraph {
  ir::Graph graph;                // inputs %tokens, %targets: i32[B, T]; returns %logits, %loss
  std::vector<ParamSpec> params;  // in declaration order, nanoGPT's names (`h.0.attn.c_attn.w`)
};

// Builds the forward graph for batch `cfg.batch_size` and sequence length `cfg.block_size`.
absl::StatusOr<GptGraph> BuildGpt(const GptConfig& cfg);

}  // namespace gptc::nn
