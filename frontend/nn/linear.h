// Linear: y = x W^T + b with W [out, in], as torch.nn.Linear (so checkpoints map 1:1).
#pragma once

#include <string>

#include "frontend/builder.h"

namespace gptc::nn {

class Linear {
 public:
  Linear(Builder& b, const std::string& path, int64_t in, int64_t out, double init_std,
         bool bias = true);
  Tensor operator()(Tensor x) const;

 private:
  Builder* b_;
  std::string path_;  // full scope path, e.g. `h.0.attn`
  Tensor w_, bias_;
};

}  // namespace gptc::nn
