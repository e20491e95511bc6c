// Models as data: the registry makes models from presets and key/values, refuses what it
// cannot make with errors naming the key, takes a program's own family, and the step graphs
// and interpreter backend run a model that is not GPT (a bigram model written in the DSL) with
// no change below the frontend.
#include "frontend/model_registry.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "frontend/builder.h"
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_family.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "ir/status_macros.h"
#include "ir/verifier.h"
#include "passes/step_graphs.h"

namespace gptc {
namespace {

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(ModelRegistry, PresetsAreGptModels) {
  auto m = PresetModel("tiny");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->arch, "gpt");
  EXPECT_EQ(m->name, "tiny");
  EXPECT_EQ(m->config, nn::ToModelConfig(*PresetConfig("tiny")));
  EXPECT_EQ(m->block_size, 32);
  EXPECT_EQ(m->batch_size, 4);
  // The same parameters, by name and shape, as the GPT builder gives.
  auto params = m->Params();
  ASSERT_TRUE(params.ok());
  auto direct = nn::BuildGpt(*PresetConfig("tiny"));
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(params->size(), direct->params.size());
  for (size_t i = 0; i < params->size(); ++i) {
    EXPECT_EQ((*params)[i].name, direct->params[i].name);
    EXPECT_EQ((*params)[i].type, direct->params[i].type);
  }
  EXPECT_EQ(m->ExternalNames("wte"),
            (std::vector<std::string>{"transformer.wte.weight", "lm_head.weight"}));
}

TEST(ModelRegistry, OverridesAndReconfigure) {
  auto m = PresetModel("tiny", {{"n_layer", "3"}, {"vocab", "11"}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->config.at("n_layer"), "3");
  EXPECT_EQ(m->vocab, 11);
  auto wider = Reconfigure(*m, {{"batch_size", "2"}});
  ASSERT_TRUE(wider.ok());
  EXPECT_EQ(wider->batch_size, 2);
  EXPECT_EQ(wider->config.at("n_layer"), "3");
  auto fwd = wider->forward({.batch = 1, .training = true});
  ASSERT_TRUE(fwd.ok());
  EXPECT_EQ(fwd->graph.value(*fwd->graph.FindValue("tokens")).type.shape, (ir::Shape{1, 32}));
}

TEST(ModelRegistry, BadConfigsNameTheKey) {
  EXPECT_EQ(Message(PresetModel("tiny", {{"n_kv_head", "2"}}).status()),
            "arch 'gpt' has no config key 'n_kv_head'; its keys are: vocab, block_size, n_layer, "
            "n_head, n_embd, batch_size, layernorm_eps, bias, dropout, gelu");
  EXPECT_EQ(Message(PresetModel("tiny", {{"n_layer", "two"}}).status()),
            "model config of arch 'gpt': 'n_layer' must be an integer, not 'two'");
  EXPECT_EQ(Message(PresetModel("tiny", {{"n_head", "3"}}).status()),
            "config 'tiny': n_embd (32) must be a multiple of n_head (3)");
  EXPECT_EQ(Message(PresetModel("huge").status()),
            "unknown config 'huge'; presets are: tiny, shakespeare-cpu, baby, gpt2, gpt2-medium, "
            "tiny-llama, llama-cpu, llama-baby");
  EXPECT_EQ(Message(FindModelFamily("mamba").status()),
            "unknown arch 'mamba'; model families are: gpt, llama");
}

TEST(ModelRegistry, CheckSameModelNamesTheFirstDifference) {
  const Model m = *PresetModel("tiny");
  EXPECT_TRUE(CheckSameModel("c.bin", "gpt", m.config, m).ok());
  ModelConfig other = m.config;
  other["batch_size"] = "64";  // a choice of the run: may differ on resume
  other["dropout"] = "0.1";
  EXPECT_TRUE(CheckSameModel("c.bin", "gpt", other, m).ok());
  other["n_layer"] = "4";
  EXPECT_EQ(Message(CheckSameModel("c.bin", "gpt", other, m)),
            "checkpoint c.bin has n_layer=4, the run asks for 2");
  EXPECT_EQ(Message(CheckSameModel("c.bin", "llama", m.config, m)),
            "checkpoint c.bin has arch llama, the run asks for gpt");
}

// A bigram language model: the next token's logits are a row of one table. Not GPT, built
// with the DSL alone.
absl::StatusOr<Model> Bigram(const std::string& name, const ModelConfig& c) {
  Model m;
  m.arch = "bigram";
  m.name = name;
  m.config = c;
  ASSIGN_OR_RETURN(m.vocab, ConfigInt(c, "vocab"));
  ASSIGN_OR_RETURN(m.block_size, ConfigInt(c, "block_size"));
  ASSIGN_OR_RETURN(m.batch_size, ConfigInt(c, "batch_size"));
  const int64_t V = m.vocab, T = m.block_size;
  m.forward = [V, T](const ForwardOptions& o) -> absl::StatusOr<ForwardGraph> {
    Builder b("forward");
    Tensor tokens = b.Input("tokens", ir::I32({o.batch, T}));
    Tensor targets = b.Input("targets", ir::I32({o.batch, T}));
    Tensor table = b.Param("table", ir::F32({V, V}), ParamInit::Normal(0.5));
    Tensor logits = Embedding(table, tokens).named("logits");  // (B, T, V)
    Tensor loss = CrossEntropy(Softmax(logits), targets).named("loss");
    ASSIGN_OR_RETURN(ir::Graph g, b.Finish({logits, loss}));
    return ForwardGraph{std::move(g), b.params(), b.buffers()};
  };
  return m;
}

ModelFamily BigramFamily() {
  using K = ConfigKey::Kind;
  ModelFamily f;
  f.name = "bigram";
  f.keys = {{"vocab", K::kInt, "7", "vocabulary"},
            {"block_size", K::kInt, "5", "context"},
            {"batch_size", K::kInt, "3", "batch", false}};
  f.presets = {{"bigram-small", {}}};
  f.make = Bigram;
  return f;
}

TEST(ModelRegistry, AProgramsOwnFamily) {
  static const absl::Status registered = RegisterModelFamily(BigramFamily());
  ASSERT_TRUE(registered.ok()) << registered;
  EXPECT_EQ(RegisterModelFamily(BigramFamily()).code(), absl::StatusCode::kAlreadyExists);
  ModelFamily clash = BigramFamily();
  clash.name = "bigram2";
  clash.presets = {{"tiny", {}}};
  EXPECT_EQ(Message(RegisterModelFamily(clash)),
            "preset 'tiny' of family 'bigram2' is already one of 'gpt'");
  ModelFamily partial = BigramFamily();
  partial.name = "bigram3";
  partial.presets = {};
  partial.keys.pop_back();
  EXPECT_EQ(Message(RegisterModelFamily(partial)),
            "model family 'bigram3' has no config key 'batch_size'");

  auto m = PresetModel("bigram-small", {{"vocab", "9"}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->arch, "bigram");
  EXPECT_EQ(m->vocab, 9);
  EXPECT_EQ(MakeModel("bigram", "x", m->config)->config, m->config);  // rebuilt from its record
}

// The step graphs of a non-GPT model: every pass runs on it (each verified), and its eval
// loss on the interpreter is the mean -log softmax(table[token])[target], computed here by hand.
TEST(ModelRegistry, StepGraphsOfAModelThatIsNotGpt) {
  auto m = Bigram("b", {{"vocab", "6"}, {"block_size", "4"}, {"batch_size", "2"}});
  ASSERT_TRUE(m.ok());
  auto steps = passes::BuildStepGraphs(*m);
  ASSERT_TRUE(steps.ok()) << steps.status();
  for (const ir::Graph* g :
       {&steps->train, &steps->eval, &steps->sample, &steps->prefill, &steps->decode})
    EXPECT_TRUE(ir::Verify(*g).ok()) << g->name();
  ir::LiteralMap args = InitParams(steps->model.params, 3);
  const ir::Literal table = args.at("table");
  ir::Literal tokens(ir::I32({2, 4}), {0, 1, 2, 3, 4, 5, 0, 1});
  ir::Literal targets(ir::I32({2, 4}), {1, 2, 3, 4, 5, 0, 1, 2});
  double want = 0;
  for (int i = 0; i < 8; ++i) {
    const int t = static_cast<int>(tokens.data[i]), y = static_cast<int>(targets.data[i]);
    double z = 0;
    for (int j = 0; j < 6; ++j) z += std::exp(table.data[t * 6 + j]);
    want += -(table.data[t * 6 + y] - std::log(z)) / 8;
  }
  args["tokens"] = tokens;
  args["targets"] = targets;
  auto out = ir::Interpret(steps->eval, args);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_NEAR((*out)[0].data[0], want, 1e-6);
}

}  // namespace
}  // namespace gptc
