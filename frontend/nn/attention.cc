#include "frontend/nn/attention.h"

#include <cmath>

#include "frontend/ops.h"

namespace gptc::nn {
CausalSelfAttention::CausalSelfAttention(Builder& b, const std::string& path, const GptConfig& cfg)
    : b_(&b),
      path_(path),
      n_head_(cfg.n_head),
      dropout_(cfg.dropout),
      c_attn_(b, path + ".c_attn", cfg.n_embd, 3 * cfg.n_embd, GptConfig::kInitStd, cfg.bias),
      c_proj_(b, path + ".c_proj", cfg.n_embd, cfg.n_embd, cfg.residual_init_std(), cfg.bias) {}

Tensor CausalSelfAttention::operator()(Tensor x) const {
  if (!x.valid()) return x;
  auto scope = b_->EnterScope(path_);
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2), H = n_head_, D = C / H;
  Tensor qkv = c_attn_(x);                            // (B, T, 3C)
  auto heads = [&](int64_t part, const char* name) {  // (B, T, C) slice -> (B, H, T, D)
    Tensor t = Reshape(Slice(qkv, 2, part * C, (part + 1) * C), {B, T, H, D});
    return Transpose(t, {0, 2, 1, 3}).named(name);
  };
  Tensor q = heads(0, "q"), k = heads(1, "k"), v = heads(2, "v");
  Tensor att = Scale(MatMul(q, k, {.transpose_b = true}), 1.0 / std::sqrt(double(D)));  // (B,H,T,T)
  att = Dropout(Softmax(CausalMask(att).named("masked")).named("probs"), dropout_);
  Tensor y = MatMul(att, v);                                           // (B, H, T, D)
  y = Reshape(Transpose(y, {0, 2, 1, 3}), {B, T, C}).named("merged");  // (B, T, C)
  return Dropout(c_proj_(y), dropout_);
}

}  // namespace gptc::nn
