// The MLP of a block: Linear(C, 4C) -> GELU (tanh approximation or exact, GptConfig::gelu)
// -> Linear(4C, C).
#pragma once

#include <string>

#include "frontend/nn/gpt_config.h"
#include "frontend/nn/linear.h"

namespace gptc::nn {

class Mlp {
 public:
  Mlp(Builder& b, const std::string& path, const GptConfig& cfg);
  Tensor operator()(Tensor x) const;  // (B, T, C) -> (B, T, C)

 private:
  Builder* b_;
  std::string path_;
  double dropout_;
  bool exact_gelu_;
  Linear c_fc_, c_proj_;
};

}  // namespace gptc::nn
