#include "frontend/nn/layer_norm.h"

#include "frontend/ops.h"

namespace gptc::nn {

LayerNorm::LayerNorm(Builder& b, const std::string& path, int64_t dim, double eps, bool bias)
    : b_(&b), path_(path), eps_(eps) {
  auto scope = b.EnterScope(path);
  w_ = b.Param("w", ir::F32({dim}), ParamInit::Ones());
  bias_ = bias ? b.Param("b", ir::F32({dim}), ParamInit::Zeros())
               : b.Constant(0.0, ir::F32({dim})).named("b");
}

Tensor LayerNorm::operator()(Tensor x) const {
  auto scope = b_->EnterScope(path_);
  return gptc::LayerNorm(x, w_, bias_, eps_).named("out");
}

}  // namespace gptc::nn
