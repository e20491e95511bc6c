// GptConfig: the GPT family's hyperparameters (frontend/nn/gpt_family.h makes them a Model),
// with named presets.
//   tiny             2 layers, 2 heads, 32 wide, block 32, batch 4   (tests)
//   shakespeare-cpu  4 layers, 4 heads, 128 wide, block 64, batch 12 (nanoGPT's CPU recipe)
//   baby             6 layers, 6 heads, 384 wide, block 256, batch 8 (nanoGPT's baby GPT)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gptc {

struct GptConfig {
  std::string name = "custom";
  int64_t vocab = 65;  // replaced by the tokenizer's vocabulary when training on text
  int64_t block_size = 64;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 128;
  int64_t batch_size = 12;  // static shapes: the compiled step has a fixed batch
  double layernorm_eps = 1e-5;
  // nanoGPT's `bias`: biases in the Linear layers and LayerNorms (GPT-2 has them; nanoGPT's
  // shakespeare-char recipe trains without, which is a little better and faster).
  bool bias = true;
  // nanoGPT's `dropout`: the probability of zeroing an activation, at nanoGPT's places (the
  // embeddings, attention probabilities, and both residual branches). Training only: the
  // eval and sampling graphs are built without it.
  double dropout = 0.0;
  // The MLP's GELU: "tanh" (GPT-2's approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715
  // x^3)))) or "erf" (exact, x Phi(x): PyTorch's nn.GELU(), which nanoGPT's model uses).
  std::string gelu = "erf";

  static constexpr double kInitStd = 0.02;
  // nanoGPT scales residual output projections by 1/sqrt(2 * n_layer) (GPT-2 paper).
  double residual_init_std() const;
  // Rejects sizes the model cannot be built with, naming the field at fault.
  absl::Status Validate() const;
};

// A GPT preset (the registry, frontend/model_registry.h, knows every family's).
absl::StatusOr<GptConfig> PresetConfig(const std::string& name);
std::vector<std::string> GptPresetNames();

}  // namespace gptc
