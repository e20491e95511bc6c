// The whole `tiny` GPT's backward pass against directional finite differences: for every
// parameter p and a random direction d, (L(θ + h d) - L(θ - h d)) / 2h must equal grad_p · d.
// float64 interpreter, h = 1e-5; tolerance 1e-6 relative to max(1e-3, |numeric|).
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "gtest/gtest.h"
#include "ir/rng.h"
#include "tests/gradcheck.h"

namespace gptc {
namespace {

void CheckEveryParameter(bool bias, const std::string& gelu = "tanh") {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.gelu = gelu;
  cfg.batch_size = 2;
  cfg.block_size = 8;
  cfg.bias = bias;
  auto m = nn::BuildGpt(cfg);
  ASSERT_TRUE(m.ok());
  // nanoGPT's count: wte, wpe, per block 12 C^2 weights and two LayerNorm gains, ln_f's gain;
  // with biases also 11 C per block (Linears 3C + C + 4C + C, two LayerNorm shifts) and ln_f's.
  const int64_t V = cfg.vocab, T = cfg.block_size, C = cfg.n_embd, L = cfg.n_layer;
  EXPECT_EQ(CountParams(m->params),
            V * C + T * C + L * (12 * C * C + 2 * C) + C + (bias ? L * 11 * C + C : 0));

  ir::LiteralMap args = InitParams(m->params, 7);
  Rng rng(3);
  // Random biases and gains, so that no path is trivially zero; in parameter order (a hash
  // map's order changes from process to process, and so would the test).
  for (const ParamSpec& p : m->params)
    if (p.name.back() == 'b' || p.name.find("ln") != std::string::npos)
      for (double& x : args[p.name].data) x += rng.Normal(0, 0.1);
  ir::Literal tokens(ir::I32({2, 8})), targets(ir::I32({2, 8}));
  for (double& x : tokens.data) x = static_cast<double>(rng.UniformInt(65));
  for (double& x : targets.data) x = static_cast<double>(rng.UniformInt(65));
  args["tokens"] = tokens;
  args["targets"] = targets;
  testing::ExpectDirectionalGradients(m->graph, m->params, args, rng, /*h=*/1e-5);
}

TEST(GptGradCheck, EveryParameterAlongARandomDirection) { CheckEveryParameter(/*bias=*/true); }

// nanoGPT's bias=False: no Linear or LayerNorm biases (the LayerNorms shift by a constant 0).
TEST(GptGradCheck, EveryParameterWithoutBiases) { CheckEveryParameter(/*bias=*/false); }

// The exact GELU (--gelu=erf), nanoGPT's nn.GELU().
TEST(GptGradCheck, EveryParameterWithTheExactGelu) { CheckEveryParameter(/*bias=*/true, "erf"); }

}  // namespace
}  // namespace gptc
