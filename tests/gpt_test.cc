// The GPT model as the DSL builds it: structure, initialisation and the loss at init.
#include "frontend/nn/gpt.h"

#include <cmath>

#include "frontend/nn/gpt_config.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "runtime/data_path.h"
#include "runtime/text_dataset.h"

namespace gptc {
namespace {

TEST(Gpt, ParameterCountMatchesTheFormula) {
  for (const std::string& name : GptPresetNames()) {
    GptConfig c = *PresetConfig(name);
    auto m = nn::BuildGpt(c);
    ASSERT_TRUE(m.ok());
    // Per block: ln 2*2C, qkv 3C*C + 3C, proj C*C + C, fc 4C*C + 4C, proj 4C*C + C.
    const int64_t C = c.n_embd;
    const int64_t per_block = 4 * C + 12 * C * C + 9 * C;
    const int64_t want = c.vocab * C + c.block_size * C + c.n_layer * per_block + 2 * C;
    EXPECT_EQ(CountParams(m->params), want) << name;
  }
  // nanoGPT reports 0.80M parameters for its CPU Shakespeare model (its count leaves out wpe).
  auto cpu = nn::BuildGpt(*PresetConfig("shakespeare-cpu"));
  EXPECT_EQ(CountParams(cpu->params) - 64 * 128, 801664);
}

double Std(const ir::Literal& l) {
  double m = 0, s = 0;
  for (double x : l.data) m += x;
  m /= l.size();
  for (double x : l.data) s += (x - m) * (x - m);
  return std::sqrt(s / l.size());
}

TEST(Gpt, InitialisationFollowsNanoGpt) {
  GptConfig c = *PresetConfig("shakespeare-cpu");
  auto m = nn::BuildGpt(c);
  ASSERT_TRUE(m.ok());
  ir::LiteralMap p = InitParams(m->params, 1337);
  EXPECT_NEAR(Std(p["wte"]), 0.02, 0.001);
  EXPECT_NEAR(Std(p["h.0.attn.c_attn.w"]), 0.02, 0.001);
  EXPECT_NEAR(Std(p["h.2.mlp.c_proj.w"]), 0.02 / std::sqrt(8.0), 0.0005);
  EXPECT_NEAR(Std(p["h.3.attn.c_proj.w"]), 0.02 / std::sqrt(8.0), 0.0005);
  for (double x : p["h.1.attn.c_attn.b"].data) EXPECT_EQ(x, 0.0);
  for (double x : p["ln_f.w"].data) EXPECT_EQ(x, 1.0);
  // Reproducible from the seed, per parameter, and different for another seed.
  EXPECT_EQ(InitParams(m->params, 1337)["wpe"].data, p["wpe"].data);
  EXPECT_NE(InitParams(m->params, 1338)["wpe"].data, p["wpe"].data);
}

TEST(Gpt, FreshTinyModelLossIsNearLnVocabOnRealText) {
  auto path = ResolveDataPath("");
  ASSERT_TRUE(path.ok()) << path.status();
  auto data = TextDataset::Load(*path);
  ASSERT_TRUE(data.ok()) << data.status();
  GptConfig c = *PresetConfig("tiny");
  c.vocab = data->tokenizer().vocab_size();
  auto m = nn::BuildGpt(c);
  ASSERT_TRUE(m.ok());
  ir::LiteralMap args = InitParams(m->params, 1337);
  Rng rng(1);
  auto batch = data->Sample(Split::kTrain, c.batch_size, c.block_size, rng);
  ASSERT_TRUE(batch.ok());
  args["tokens"] = batch->tokens;
  args["targets"] = batch->targets;
  auto out = ir::Interpret(m->graph, args);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), (ir::Shape{c.batch_size, c.block_size, c.vocab}));
  const double loss = (*out)[1].data[0];
  EXPECT_NEAR(loss, std::log(65.0), 0.1);
}

}  // namespace
}  // namespace gptc
