#include "frontend/nn/block.h"

#include "frontend/ops.h"

namespace gptc::nn {

Block::Block(Builder& b, const std::string& path, const GptConfig& cfg)
    : b_(&b),
      path_(path),
      ln_1_(b, path + ".ln_1", cfg.n_embd, cfg.layernorm_eps, cfg.bias),
      attn_(b, path + ".attn", cfg),
      ln_2_(b, path + ".ln_2", cfg.n_embd, cfg.layernorm_eps, cfg.bias),
      mlp_(b, path + ".mlp", cfg) {}

Tensor Block::operator()(Tensor x) const {
  Tensor a = attn_(ln_1_(x));
  Tensor m;
  {
    auto scope = b_->EnterScope(path_);
    x = (x + a).named("res_1");
  }
  m = mlp_(ln_2_(x));
  auto scope = b_->EnterScope(path_);
  return (x + m).named("res_2");
}

}  // namespace gptc::nn
