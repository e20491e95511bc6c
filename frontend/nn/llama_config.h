// LlamaConfig: the LLaMA family's hyperparameters (frontend/nn/llama_family.h makes them a
// Model), with named presets.
//   tiny-llama  2 layers, 4 query / 2 key-value heads, 32 wide, block 32, batch 4  (tests)
//   llama-cpu   4 layers, 4 / 2 heads, 128 wide, block 64, batch 12, SwiGLU 384 wide: within
//               1% of shakespeare-cpu's parameters, for the same recipe
//   llama-baby  6 layers, 6 / 2 heads, 384 wide, block 256, batch 8, SwiGLU 1024 wide
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gptc {

struct LlamaConfig {
  std::string name = "custom";
  int64_t vocab = 65;  // replaced by the tokenizer's vocabulary when training on text
  int64_t block_size = 64;
  int64_t n_layer = 4;
  int64_t n_head = 4;     // query heads
  int64_t n_kv_head = 2;  // key/value heads (grouped-query attention); divides n_head
  int64_t n_embd = 128;
  int64_t ffn_hidden = 384;  // the SwiGLU's inner width (Hugging Face's intermediate_size)
  int64_t batch_size = 12;   // static shapes: the compiled step has a fixed batch
  double rms_eps = 1e-5;
  double rope_theta = 10000;
  bool tie_embeddings = false;  // the output head is the token embedding

  static constexpr double kInitStd = 0.02;  // Hugging Face's initializer_range
  int64_t head_dim() const { return n_embd / n_head; }
  // Rejects sizes the model cannot be built with, naming the field at fault.
  absl::Status Validate() const;
};

absl::StatusOr<LlamaConfig> LlamaPreset(const std::string& name);
std::vector<std::string> LlamaPresetNames();

}  // namespace gptc
