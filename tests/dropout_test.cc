// Dropout: its mask (rate, scaling, independence of steps and sites), the JIT's mask against
// the interpreter's bit for bit, its gradient by finite differences with the mask fixed, and
// its place in the GPT: in the train graph only.
#include <cmath>

#include "frontend/builder.h"
#include "frontend/nn/gpt.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "jit_test_util.h"
#include "passes/step_graphs.h"
#include "runtime/executable.h"
#include "tests/gradcheck.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

constexpr int64_t kN = 1 << 16;

// dropout(x = 1) over kN elements with key (seed, step) at `site`, on the interpreter.
std::vector<double> Mask(double p, int64_t seed, int64_t step, int64_t site) {
  Builder b("drop");
  Tensor x = b.Input("x", ir::F32({kN}));
  Tensor key = b.RngKey();
  Tensor y = b.Apply(ir::Op::kDropout, {x, key}, {{"p", p}, {"site", site}});
  auto g = b.Finish({y});
  EXPECT_TRUE(g.ok()) << g.status();
  auto out =
      ir::Interpret(*g, {{"x", ir::Literal(ir::F32({kN}), std::vector<double>(kN, 1.0))},
                         {"rng_key", ir::Literal(ir::I32({2}), {double(seed), double(step)})}});
  EXPECT_TRUE(out.ok()) << out.status();
  return (*out)[0].data;
}

TEST(Dropout, DropsAboutPAndScalesTheRest) {
  for (double p : {0.1, 0.5}) {
    const std::vector<double> m = Mask(p, 1337, 7, 0);
    int64_t zeros = 0;
    double sum = 0;
    for (double v : m) {
      if (v == 0)
        ++zeros;
      else
        EXPECT_FLOAT_EQ(v, 1 / (1 - p));
      sum += v;
    }
    // Binomial: the standard deviation of the rate is sqrt(p(1-p)/N) < 0.002.
    EXPECT_NEAR(double(zeros) / kN, p, 0.01) << "p=" << p;
    EXPECT_NEAR(sum / kN, 1.0, 0.02) << "the expectation is kept";
  }
}

TEST(Dropout, MaskIsAFunctionOfSeedStepAndSiteOnly) {
  const std::vector<double> a = Mask(0.5, 1337, 7, 0);
  EXPECT_EQ(a, Mask(0.5, 1337, 7, 0));
  for (const std::vector<double>& other :
       {Mask(0.5, 1338, 7, 0), Mask(0.5, 1337, 8, 0), Mask(0.5, 1337, 7, 1)}) {
    int64_t same = 0;
    for (int64_t i = 0; i < kN; ++i) same += a[i] == other[i];
    EXPECT_NEAR(double(same) / kN, 0.5, 0.01) << "masks of different keys must be independent";
  }
}

TEST(Dropout, JitMaskIsTheInterpretersBitForBit) {
  auto g = ir::Graph("drop");
  ir::ValueId x = g.AddInput("x", ir::F32({3, 1000}));
  ir::ValueId key = g.AddInput("rng_key", ir::I32({2}));
  ir::ValueId y = g.AddValueNode(ir::Op::kDropout, {x, key}, {{"p", 0.3}, {"site", int64_t{5}}},
                                 "y", ir::F32({3, 1000}));
  g.AddOutput(y);
  ir::LiteralMap args = testing::RandomArgs(g, 3, 1);
  args["rng_key"] = ir::Literal(ir::I32({2}), {123456.0, 99.0});
  auto want = ir::Interpret(g, args);
  ASSERT_TRUE(want.ok());
  StateStore store;
  auto exe = Executable::Create(g, testing::SharedCompiler(), store);
  ASSERT_TRUE(exe.ok()) << exe.status();
  ASSERT_TRUE((*exe)->SetInput("x", args["x"]).ok());
  ASSERT_TRUE((*exe)->SetInput("rng_key", args["rng_key"]).ok());
  auto got = (*exe)->Run();
  ASSERT_TRUE(got.ok()) << got.status();
  int64_t zeros = 0;
  for (int64_t i = 0; i < 3000; ++i) {
    ASSERT_EQ((*got)[0].data[i] == 0, (*want)[0].data[i] == 0) << "element " << i;
    EXPECT_NEAR((*got)[0].data[i], (*want)[0].data[i], 1e-6 * std::fabs((*want)[0].data[i]));
    zeros += (*want)[0].data[i] == 0;
  }
  EXPECT_GT(zeros, 700);
  EXPECT_LT(zeros, 1100);
}

TEST(Dropout, GradientWithAFixedMask) {
  const ir::LiteralMap key = {{"rng_key", ir::Literal(ir::I32({2}), {42.0, 3.0})}};
  auto r = testing::GradCheck(
      [](Builder&, const std::vector<Tensor>& p) { return Dropout(p[0] * p[1], 0.4); },
      {{4, 6}, {4, 6}}, 1, false, key);
  EXPECT_GT(r.elements, 0);
  EXPECT_LT(r.max_rel_err, 1e-6) << r.worst;
}

TEST(Dropout, GptTrainsWithItAndEvaluatesAndSamplesWithout) {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.dropout = 0.2;
  auto graphs = passes::BuildStepGraphs(testing::GptModelOf(cfg));
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  auto count = [](const ir::Graph& g) {
    int n = 0;
    for (const ir::Node& node : g.nodes()) n += node.op == ir::Op::kDropout;
    return n;
  };
  // nanoGPT's places: the embeddings, and per block the attention probabilities, the
  // attention's output and the MLP's output. The backward pass applies each mask again.
  const int sites = 1 + 3 * static_cast<int>(cfg.n_layer);
  EXPECT_EQ(count(graphs->model.graph), sites);
  EXPECT_EQ(count(graphs->train), 2 * sites);
  for (const ir::Graph* g : {&graphs->eval, &graphs->sample, &graphs->prefill, &graphs->decode}) {
    EXPECT_EQ(count(*g), 0) << g->name();
    EXPECT_FALSE(g->FindValue("rng_key").has_value()) << g->name();
  }
}

}  // namespace
}  // namespace gptc
