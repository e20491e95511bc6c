#include "rms_gpt.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "frontend/builder.h"
#include "frontend/ops.h"

namespace {
using namespace gptc;

// x * w * rsqrt(mean(x^2) + eps) over the last axis, in primitives.
Tensor RmsNorm(Builder& b, const std::string& name, Tensor x) {
  const int64_t C = x.dim(x.rank() - 1);
  Tensor w = b.Param(name + ".weight", ir::F32({C}), ParamInit::Ones());
  Tensor ms = Mean(x * x, -1);  // [B, T]: one rsqrt per row, then stretched along C
  Tensor r = Expand(Rsqrt(ms + b.Constant(1e-5, ms.type())), -1, C);
  return x * r * w;  // w [C] broadcasts, as in numpy; the fuse pass makes this one kernel
}

Tensor Linear(Builder& b, const std::string& name, Tensor x, int64_t out, double std) {
  Tensor w = b.Param(name + ".weight", ir::F32({out, x.dim(x.rank() - 1)}), ParamInit::Normal(std));
  return MatMul(x, w, {.transpose_b = true});
}

Tensor Attention(Builder& b, const std::string& name, Tensor x, int64_t H, double out_std) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2), D = C / H;
  auto heads = [&](const char* which) {  // (B, T, C) -> (B, H, T, D)
    Tensor t = Linear(b, absl::StrCat(name, ".", which), x, C, 0.02);
    return Transpose(Reshape(t, {B, T, H, D}), {0, 2, 1, 3});
  };
  Tensor q = heads("q"), k = heads("k"), v = heads("v");
  Tensor att = Scale(MatMul(q, k, {.transpose_b = true}), 1.0 / std::sqrt(double(D)));
  Tensor y = MatMul(Softmax(CausalMask(att)), v);  // (B, H, T, D)
  y = Reshape(Transpose(y, {0, 2, 1, 3}), {B, T, C});
  return Linear(b, name + ".o", y, C, out_std);
}

}  // namespace

absl::StatusOr<Model> RmsGpt(int64_t vocab, int64_t block_size, int64_t batch_size, int64_t n_layer,
                             int64_t n_head, int64_t n_embd) {
  Model m;
  m.arch = "rms_gpt";  // not a registered family: this program rebuilds it itself
  m.name = "custom";
  m.config = {{"n_layer", absl::StrCat(n_layer)},
              {"n_head", absl::StrCat(n_head)},
              {"n_embd", absl::StrCat(n_embd)},
              {"vocab", absl::StrCat(vocab)},
              {"block_size", absl::StrCat(block_size)}};
  m.vocab = vocab;
  m.block_size = block_size;
  m.batch_size = batch_size;
  m.forward = [=](const ForwardOptions& o) -> absl::StatusOr<ForwardGraph> {
    const int64_t B = o.batch, T = block_size, C = n_embd;
    const double out_std = 0.02 / std::sqrt(2.0 * n_layer);
    Builder b("forward");
    Tensor tokens = b.Input("tokens", ir::I32({B, T}));
    Tensor targets = b.Input("targets", ir::I32({B, T}));
    Tensor wte = b.Param("wte", ir::F32({vocab, C}), ParamInit::Normal(0.02));
    Tensor wpe = b.Param("wpe", ir::F32({T, C}), ParamInit::Normal(0.02));
    Tensor x = Embedding(wte, tokens) + Broadcast(Slice(wpe, 0, 0, T), {B, T, C});
    for (int64_t i = 0; i < n_layer; ++i) {
      const std::string h = absl::StrCat("h.", i);
      x = x + Attention(b, h + ".attn", RmsNorm(b, h + ".norm1", x), n_head, out_std);
      Tensor up = Linear(b, h + ".up", RmsNorm(b, h + ".norm2", x), 4 * C, 0.02);
      x = x + Linear(b, h + ".down", Silu(up), C, out_std);
    }
    Tensor logits = MatMul(RmsNorm(b, "norm", x), wte, {.transpose_b = true}).named("logits");
    Tensor loss = SoftmaxCrossEntropy(logits, targets).named("loss");
    auto g = b.Finish({logits, loss});
    if (!g.ok()) return g.status();
    return ForwardGraph{std::move(*g), b.params()};
  };
  if (auto s = m.Validate(); !s.ok()) return s;
  return m;
}
