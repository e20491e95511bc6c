// The GPT family (`--arch=gpt`): nanoGPT's model (frontend/nn/gpt.h) as a registered family,
// with its presets, its config as key/values, and nanoGPT's parameter names for export.
#pragma once

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "frontend/model_registry.h"
#include "frontend/nn/gpt_config.h"

namespace gptc::nn {

ModelFamily GptFamily();
// The Model of a GptConfig (no registry involved: tests and programs that hold a GptConfig).
absl::StatusOr<Model> GptModel(const GptConfig& cfg);
// The config as key/values, and back (each key as GptFamily declares it).
ModelConfig ToModelConfig(const GptConfig& cfg);
absl::StatusOr<GptConfig> GptConfigFrom(const std::string& name, const ModelConfig& config);

// gptc's parameter names and nanoGPT's state_dict keys: `h.0.attn.c_attn.w` <->
// `transformer.h.0.attn.c_attn.weight`, `wte` <-> `transformer.wte.weight` (nanoGPT also
// has `lm_head.weight`, the same tensor as wte). Layouts are the same (Linear weights
// [out, in]).
std::string NanoGptName(const std::string& gptc_name);

}  // namespace gptc::nn
