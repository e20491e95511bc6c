#include "frontend/nn/mlp.h"

#include "frontend/ops.h"

namespace gptc::nn {

Mlp::Mlp(Builder& b, const std::string& path, const GptConfig& cfg)
    : b_(&b),
      path_(path),
      dropout_(cfg.dropout),
      exact_gelu_(cfg.gelu == "erf"),
      c_fc_(b, path + ".c_fc", cfg.n_embd, 4 * cfg.n_embd, GptConfig::kInitStd, cfg.bias),
      c_proj_(b, path + ".c_proj", 4 * cfg.n_embd, cfg.n_embd, cfg.residual_init_std(), cfg.bias) {}

Tensor Mlp::operator()(Tensor x) const {
  Tensor h = c_fc_(x);  // (B, T, 4C)
  auto scope = b_->EnterScope(path_);
  return Dropout(c_proj_((exact_gelu_ ? GeluErf(h) : Gelu(h)).named("gelu")), dropout_);
}

}  // namespace gptc::nn
