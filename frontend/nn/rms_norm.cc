#include "frontend/nn/rms_norm.h"

#include "frontend/ops.h"

namespace gptc::nn {

RmsNorm::RmsNorm(Builder& b, const std::string& path, int64_t width, double eps)
    : b_(&b), path_(path), eps_(eps) {
  auto scope = b.EnterScope(path);
  w_ = b.Param("w", ir::F32({width}), ParamInit::Ones());
}

Tensor RmsNorm::operator()(Tensor x) const {
  if (!x.valid()) return x;
  auto scope = b_->EnterScope(path_);
  const int axis = x.rank() - 1;
  Tensor ms = Mean(x * x, axis);
  Tensor r = Expand(Rsqrt(ms + b_->Constant(eps_, ms.type())), axis, x.dim(axis));
  return (x * r * w_).named("out");
}

}  // namespace gptc::nn
