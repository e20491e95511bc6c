// The LLaMA family (`--arch=llama`): frontend/nn/llama.h as a registered family, with its
// presets, its config as key/values, and Hugging Face's parameter names for export.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "frontend/model_registry.h"
#include "frontend/nn/llama_config.h"

namespace gptc::nn {

ModelFamily LlamaFamily();
absl::StatusOr<Model> LlamaModel(const LlamaConfig& cfg);
ModelConfig ToModelConfig(const LlamaConfig& cfg);
absl::StatusOr<LlamaConfig> LlamaConfigFrom(const std::string& name, const ModelConfig& config);

// gptc's parameter names and Hugging Face's LlamaForCausalLM keys:
// `layers.0.self_attn.q_proj.w` <-> `model.layers.0.self_attn.q_proj.weight`,
// `embed_tokens` <-> `model.embed_tokens.weight`, `lm_head.w` <-> `lm_head.weight`.
std::string HfLlamaName(const std::string& gptc_name);

}  // namespace gptc::nn
