// Multi-head causal self-attention: n_head heads of n_embd / n_head, one fused qkv
// projection (c_attn) and an output projection (c_proj), named as nanoGPT names them.
#pragma once

#include <string>

#include "frontend/nn/gpt_config.h"
#include "frontend/nn/linear.h"

namespace gptc::nn {

class CausalSelfAttention {
 public:
  CausalSelfAttention(Builder& b, const std::string& path, const GptConfig& cfg);
  Tensor operator()(Tensor x) const;  // (B, T, C) -> (B, T, C)

 private:
  Builder* b_;
  std::string path_;  // full scope path, e.g. `h.0.attn`
  int64_t n_head_;
  double dropout_;
  Linear c_attn_, c_proj_;
};

}  // namespace gptc::nn
