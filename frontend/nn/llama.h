// The LLaMA model (as Hugging Face's LlamaForCausalLM): a token embedding, n_layer blocks of
// x + attn(rmsnorm(x)) then x + mlp(rmsnorm(x)), a final RMSNorm and an output head (untied
// unless tie_embeddings); loss is the mean cross-entropy. Attention is causal and
// grouped-query: n_kv_head key/value heads, each read by n_head / n_kv_head query heads, with
// rotary positions on q and k. The MLP is down(silu(gate(x)) * up(x)). No biases.
//
// Everything is written from primitives; no op or fusion pattern is LLaMA's own.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "frontend/nn/llama_config.h"

namespace gptc::nn {

// The forward graph at batch `batch`, sequence block_size: (tokens, targets) -> logits, loss.
// Parameter names follow Hugging Face's without the `model.` prefix and with `.w` for
// `.weight`: `embed_tokens`, `layers.0.self_attn.q_proj.w`, `norm.w`, `lm_head.w`.
absl::StatusOr<ForwardGraph> BuildLlama(const LlamaConfig& cfg, int64_t batch);

}  // namespace gptc::nn
