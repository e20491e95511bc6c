// RMSNorm (Zhang and Sennrich 2019, as LLaMA uses it): x * rsqrt(mean(x^2) + eps) * w, over
// the last axis, with a learned weight w [C] that starts at 1 and takes no weight decay.
// Written from primitives: the fusion rule makes it one kernel each way.
#pragma once

#include <string>

#include "frontend/builder.h"

namespace gptc::nn {

class RmsNorm {
 public:
  RmsNorm(Builder& b, const std::string& path, int64_t width, double eps);
  Tensor operator()(Tensor x) const;

 private:
  Builder* b_;
  std::string path_;
  double eps_;
  Tensor w_;
};

}  // namespace gptc::nn
