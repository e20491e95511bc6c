// A transformer block, pre-LayerNorm as GPT-2:
//   x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
#pragma once

#include <string>

#include "frontend/nn/attention.h"
#include "frontend/nn/layer_norm.h"
#include "frontend/nn/mlp.h"

namespace gptc::nn {

class Block {
 public:
  Block(Builder& b, const std::string& path, const GptConfig& cfg);
  Tensor operator()(Tensor x) const;

 private:
  Builder* b_;
  std::string path_;
  LayerNorm ln_1_;
  CausalSelfAttention attn_;
  LayerNorm ln_2_;
  Mlp mlp_;
};

}  // namespace gptc::nn
