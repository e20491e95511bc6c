// LayerNorm over the last axis with learned weight (ones) and bias (zeros).
#pragma once

#include <string>

#include "frontend/builder.h"

namespace gptc::nn {

class LayerNorm {
 public:
  // Without `bias` the shift is a constant zero (nanoGPT's bias=False), not a parameter.
  LayerNorm(Builder& b, const std::string& path, int64_t dim, double eps, bool bias = true);
  Tensor operator()(Tensor x) const;

 private:
  Builder* b_;
  std::string path_;  // full scope path, e.g. `h.0.attn`
  double eps_;
  Tensor w_, bias_;
};

}  // namespace gptc::nn
