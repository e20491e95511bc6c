// The pass pipeline: verification after every pass, statistics, printing and dumps, and the
// errors of the passes themselves.
#include "passes/pipeline.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/nn/gpt_config.h"
#include "frontend/nn/gpt.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/verifier.h"
#include "passes/adamw.h"
#include "passes/autodiff.h"
#include "passes/train_graphs.h"
#include "runtime/lr_schedule.h"

namespace gptc {
namespace {

ir::Graph Parse(const char* text) {
  auto g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return *g;
}

TEST(Pipeline, TrainPipelineStatsAndVerifiedStages) {
  auto m = nn::BuildGpt(*PresetConfig("tiny"));
  ASSERT_TRUE(m.ok());
  passes::Pipeline p = passes::TrainPipeline();
  std::ostringstream printed;
  passes::PipelineOptions o;
  o.print_after = {"all"};
  o.print_to = &printed;
  o.dump_dir = ::testing::TempDir() + "gptc_dump";
  auto g = p.Run(*passes::SelectOutputs(m->graph, {"loss"}), o);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(p.stats().size(), 6u);
  EXPECT_EQ(p.stats()[0].name, "autodiff");
  EXPECT_TRUE(p.stats()[0].changed);
  EXPECT_GT(p.stats()[1].nodes_after, p.stats()[1].nodes_before);     // adamw adds the update
  EXPECT_LT(p.stats()[3].nodes_after, p.stats()[3].nodes_before);     // cse merges constants
  EXPECT_LT(p.stats()[4].nodes_after, p.stats()[3].nodes_after / 2);  // fuse: groups become nodes
  EXPECT_EQ(p.stats()[5].name, "plan");
  EXPECT_EQ(p.stats()[5].nodes_after, p.stats()[4].nodes_after);  // plan reorders, adds nothing
  for (const char* stage : {"forward", "autodiff", "adamw", "dce", "cse", "fuse", "plan"})
    EXPECT_NE(printed.str().find(std::string("// ----- IR after ") + stage), std::string::npos)
        << stage;
  // Every dump parses back and verifies; the last one is the graph returned.
  const char* files[] = {"00-forward", "01-autodiff", "02-adamw", "03-dce",
                         "04-cse",     "05-fuse",     "06-plan"};
  for (const char* f : files) {
    for (const char* ext : {".ir", ".dot"})
      EXPECT_TRUE(std::filesystem::exists(o.dump_dir + "/" + f + ext)) << f << ext;
    std::ifstream in(o.dump_dir + "/" + f + ".ir");
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = ir::ParseGraph(ss.str());
    ASSERT_TRUE(parsed.ok()) << f << ": " << parsed.status();
    EXPECT_TRUE(ir::Verify(*parsed).ok()) << f;
  }
  // The train step updates every parameter and both moments of each.
  EXPECT_EQ(g->updates().size(), 3 * m->params.size());
  // It returns the loss, and the gradient norm the trainer guards against NaN.
  ASSERT_EQ(g->outputs().size(), 2u);
  EXPECT_EQ(g->value(g->outputs()[0]).name, "loss");
  EXPECT_EQ(g->value(g->outputs()[1]).name, "adamw.grad_norm");
}

TEST(Pipeline, UnknownPassNamesListTheValidOnes) {
  passes::Pipeline p = passes::TrainPipeline();
  EXPECT_EQ(
      p.CheckPassNames({"fusion"}).message(),
      "unknown pass 'fusion'; valid names: forward, autodiff, adamw, dce, cse, fuse, plan, all");
}

TEST(Pipeline, APassThatBreaksTheIrIsCaught) {
  passes::Pipeline p;
  p.Add("breaker", [](const ir::Graph& g) -> absl::StatusOr<ir::Graph> {
    ir::Graph out = g;
    out.mutable_value(out.outputs()[0]).type = ir::F32({7});  // claims a wrong shape
    return out;
  });
  auto r = p.Run(Parse("graph g(%x: f32[2]) {\n  %y = f32[2] neg(%x)\n  return %y\n}"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "pass 'breaker' produced IR the verifier rejects: neg: result %y is declared f32[7] "
            "but the op gives f32[2] in: %y = f32[7] neg(%x)");
}

TEST(Autodiff, OpsWithoutRulesAreReportedTogether) {
  ir::Graph g = Parse(
      "graph g(%p: f32[2,3] param, %q: f32[2,3] param) {\n"
      "  %a = f32[2,3] gelu_grad(%p, %q)\n  %b = f32[2,3] softmax_grad(%a, %p)\n"
      "  %c = f32[2,3] gelu_grad(%b, %q)\n  %s = f32[2] sum(%c) axis=1\n"
      "  %loss = f32[] sum(%s) axis=0\n  return %loss\n}");
  EXPECT_EQ(passes::Autodiff(g).status().message(),
            "autodiff: no gradient rule for: gelu_grad (%a, %c); softmax_grad (%b)");
}

TEST(Autodiff, LossMustExistAndBeScalar) {
  ir::Graph g = Parse("graph g(%p: f32[2] param) {\n  %y = f32[2] neg(%p)\n  return %y\n}");
  EXPECT_EQ(passes::Autodiff(g).status().message(), "autodiff: no loss value named %loss");
  EXPECT_EQ(passes::Autodiff(g, {"y", {}}).status().message(),
            "autodiff: the loss %y must be f32[], not f32[2]");
}

TEST(Autodiff, UnusedParameterGetsAZeroGradient) {
  ir::Graph g = Parse(
      "graph g(%p: f32[2] param, %q: f32[3] param) {\n"
      "  %loss = f32[] sum(%p) axis=0\n  return %loss\n}");
  auto d = passes::Autodiff(g);
  ASSERT_TRUE(d.ok());
  const ir::Value& gq = d->value(d->outputs()[2]);
  EXPECT_EQ(gq.name, "grad.q");
  EXPECT_EQ(d->node(gq.producer).op, ir::Op::kConstant);
}

TEST(AdamW, NeedsAGradientPerParameter) {
  ir::Graph g = Parse(
      "graph g(%p: f32[2] param, %q: f32[3] param) {\n"
      "  %loss = f32[] sum(%p) axis=0\n  return %loss\n}");
  EXPECT_EQ(passes::AdamW(g).status().message(),
            "adamw: no gradient (grad.<name>) for %p, %q; run autodiff first");
}

TEST(LrSchedule, WarmupCosineAndFloor) {
  LrSchedule s{1e-3, 1e-4, 10, 110};
  EXPECT_DOUBLE_EQ(s.At(0), 1e-3 * 1 / 11);  // nanoGPT: lr * (it + 1) / (warmup + 1)
  EXPECT_DOUBLE_EQ(s.At(9), 1e-3 * 10 / 11);
  EXPECT_DOUBLE_EQ(s.At(10), 1e-3);                   // start of the cosine
  EXPECT_NEAR(s.At(60), 0.5 * (1e-3 + 1e-4), 1e-15);  // half way
  EXPECT_DOUBLE_EQ(s.At(110), 1e-4);
  EXPECT_DOUBLE_EQ(s.At(500), 1e-4);
}

}  // namespace
}  // namespace gptc
