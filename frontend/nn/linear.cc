#include "frontend/nn/linear.h"

#include "frontend/ops.h"

namespace gptc::nn {

Linear::Linear(Builder& b, const std::string& path, int64_t in, int64_t out, double init_std,
               bool bias)
    : b_(&b), path_(path) {
  auto scope = b.EnterScope(path);
  w_ = b.Param("w", ir::F32({out, in}), ParamInit::Normal(init_std));
  if (bias) bias_ = b.Param("b", ir::F32({out}), ParamInit::Zeros());
}

Tensor Linear::operator()(Tensor x) const {
  auto scope = b_->EnterScope(path_);
  Tensor y = MatMul(x, w_, {.transpose_b = true});
  if (!bias_.valid() || !y.valid()) return y;
  return (y + Broadcast(bias_, y.shape())).named("out");
}

}  // namespace gptc::nn
