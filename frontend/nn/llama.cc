#include "frontend/nn/llama.h"

#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "frontend/builder.h"
#include "frontend/nn/linear.h"
#include "frontend/nn/rms_norm.h"
#include "frontend/nn/rotary.h"
#include "frontend/ops.h"
#include "ir/status_macros.h"

namespace gptc::nn {
namespace {

constexpr double kStd = LlamaConfig::kInitStd;

// Causal grouped-query self-attention with rotary q and k.
class Attention {
 public:
  Attention(Builder& b, const std::string& path, const LlamaConfig& c)
      : b_(&b),
        path_(path),
        H_(c.n_head),
        KV_(c.n_kv_head),
        D_(c.head_dim()),
        q_(b, path + ".q_proj", c.n_embd, c.n_head * D_, kStd, false),
        k_(b, path + ".k_proj", c.n_embd, c.n_kv_head * D_, kStd, false),
        v_(b, path + ".v_proj", c.n_embd, c.n_kv_head * D_, kStd, false),
        o_(b, path + ".o_proj", c.n_head * D_, c.n_embd, kStd, false) {}

  Tensor operator()(Tensor x, const Rotary& rope) const {
    auto scope = b_->EnterScope(path_);
    const int64_t B = x.dim(0), T = x.dim(1);
    auto heads = [&](Tensor t, int64_t n, const char* name) {  // (B, T, n D) -> (B, n, T, D)
      return Transpose(Reshape(t, {B, T, n, D_}), {0, 2, 1, 3}).named(name);
    };
    Tensor q = rope(heads(q_(x), H_, "q")).named("q_rot");
    Tensor k = rope(heads(k_(x), KV_, "k")).named("k_rot");
    Tensor v = heads(v_(x), KV_, "v");
    // Query head h reads key/value head h / (H / KV), as Hugging Face's repeat_kv.
    auto repeat = [&](Tensor t, const char* name) {
      if (KV_ == H_) return t;
      return Reshape(Expand(t, 2, H_ / KV_), {B, H_, T, D_}).named(name);
    };
    k = repeat(k, "k_rep");
    v = repeat(v, "v_rep");
    Tensor att = Scale(MatMul(q, k, {.transpose_b = true}), 1.0 / std::sqrt(double(D_)));
    att = Softmax(CausalMask(att).named("masked")).named("probs");
    Tensor y = MatMul(att, v);  // (B, H, T, D)
    return o_(Reshape(Transpose(y, {0, 2, 1, 3}), {B, T, H_ * D_}).named("merged"));
  }

 private:
  Builder* b_;
  std::string path_;
  int64_t H_, KV_, D_;
  Linear q_, k_, v_, o_;
};

class Mlp {  // down(silu(gate(x)) * up(x))
 public:
  Mlp(Builder& b, const std::string& path, const LlamaConfig& c)
      : gate_(b, path + ".gate_proj", c.n_embd, c.ffn_hidden, kStd, false),
        up_(b, path + ".up_proj", c.n_embd, c.ffn_hidden, kStd, false),
        down_(b, path + ".down_proj", c.ffn_hidden, c.n_embd, kStd, false) {}
  Tensor operator()(Tensor x) const { return down_(Silu(gate_(x)) * up_(x)); }

 private:
  Linear gate_, up_, down_;
};

class Layer {
 public:
  Layer(Builder& b, const std::string& path, const LlamaConfig& c)
      : b_(&b),
        path_(path),
        input_norm_(b, path + ".input_layernorm", c.n_embd, c.rms_eps),
        attn_(b, path + ".self_attn", c),
        post_norm_(b, path + ".post_attention_layernorm", c.n_embd, c.rms_eps),
        mlp_(b, path + ".mlp", c) {}

  Tensor operator()(Tensor x, const Rotary& rope) const {
    auto scope = b_->EnterScope(path_);
    Tensor h = (x + attn_(input_norm_(x), rope)).named("res_attn");
    return (h + mlp_(post_norm_(h))).named("res_mlp");
  }

 private:
  Builder* b_;
  std::string path_;
  RmsNorm input_norm_;
  Attention attn_;
  RmsNorm post_norm_;
  Mlp mlp_;
};

}  // namespace

absl::StatusOr<ForwardGraph> BuildLlama(const LlamaConfig& cfg, int64_t batch) {
  RETURN_IF_ERROR(cfg.Validate());
  const int64_t T = cfg.block_size, C = cfg.n_embd;
  Builder b("forward");
  Tensor tokens = b.Input("tokens", ir::I32({batch, T}));
  Tensor targets = b.Input("targets", ir::I32({batch, T}));
  Tensor embed = b.Param("embed_tokens", ir::F32({cfg.vocab, C}), ParamInit::Normal(kStd));
  Rotary rope(b, "rope", cfg.block_size, cfg.head_dim(), cfg.rope_theta);
  std::vector<std::unique_ptr<Layer>> layers;
  for (int64_t i = 0; i < cfg.n_layer; ++i)
    layers.push_back(std::make_unique<Layer>(b, absl::StrCat("layers.", i), cfg));
  RmsNorm norm(b, "norm", C, cfg.rms_eps);
  std::unique_ptr<Linear> head;
  if (!cfg.tie_embeddings) head = std::make_unique<Linear>(b, "lm_head", C, cfg.vocab, kStd, false);

  Tensor x = Embedding(embed, tokens).named("x");  // (B, T, C)
  for (const auto& layer : layers) x = (*layer)(x, rope);
  x = norm(x);
  Tensor logits =
      (head ? (*head)(x) : MatMul(x, embed, {.transpose_b = true})).named("logits");  // (B,T,V)
  Tensor loss = CrossEntropy(Softmax(logits).named("probs"), targets).named("loss");
  ASSIGN_OR_RETURN(ir::Graph g, b.Finish({logits, loss}));
  return ForwardGraph{std::move(g), b.params(), b.buffers()};
}

}  // namespace gptc::nn
