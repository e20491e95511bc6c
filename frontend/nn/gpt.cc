#include "frontend/nn/gpt.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "frontend/builder.h"
#include "frontend/nn/block.h"
#include "frontend/ops.h"
#include "ir/status_macros.h"

namespace gptc::nn {

absl::StatusOr<GptGraph> BuildGpt(const GptConfig& cfg) {
  RETURN_IF_ERROR(cfg.Validate());
  const int64_t B = cfg.batch_size, T = cfg.block_size, C = cfg.n_embd;
  Builder b("forward");
  Tensor tokens = b.Input("tokens", ir::I32({B, T}));
  Tensor targets = b.Input("targets", ir::I32({B, T}));
  Tensor wte = b.Param("wte", ir::F32({cfg.vocab, C}), ParamInit::Normal(GptConfig::kInitStd));
  Tensor wpe = b.Param("wpe", ir::F32({cfg.block_size, C}), ParamInit::Normal(GptConfig::kInitStd));
  std::vector<std::unique_ptr<Block>> blocks;
  for (int64_t i = 0; i < cfg.n_layer; ++i)
    blocks.push_back(std::make_unique<Block>(b, absl::StrCat("h.", i), cfg));
  LayerNorm ln_f(b, "ln_f", C, cfg.layernorm_eps, cfg.bias);

  Tensor pos = Broadcast(Slice(wpe, 0, 0, T), {B, T, C}).named("pos");  // (B, T, C)
  Tensor x = Dropout((Embedding(wte, tokens).named("tok") + pos).named("emb"), cfg.dropout)
                 .named("x");  // (B, T, C)
  for (const auto& block : blocks) x = (*block)(x);
  x = ln_f(x);
  Tensor logits = MatMul(x, wte, {.transpose_b = true}).named("logits");  // (B, T, V)
  Tensor probs = Softmax(logits).named("probs");                          // (B, T, V)
  Tensor loss = CrossEntropy(probs, targets).named("loss");
  ASSIGN_OR_RETURN(ir::Graph g, b.Finish({logits, loss}));
  return GptGraph{std::move(g), b.params()};
}

}  // namespace gptc::nn
