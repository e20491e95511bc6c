// The fuse pass beyond its goldens: what --explain-fusion says, choosing patterns, and that a
// fused train step computes what the unfused one does: exactly on the interpreter (a fused
// op means its body), within float32 tolerance on the JIT (the fused kernels sum in another
// order), over several AdamW steps.
#include "passes/fuse.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/param_init.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "passes/autodiff.h"
#include "passes/train_graphs.h"
#include "runtime/executable.h"
#include "tests/fixture.h"
#include "tests/jit_test_util.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

std::string Explain(const std::string& file, const passes::FuseOptions& base = {}) {
  std::ifstream in(testing::TestDataPath("fuse/" + file));
  std::stringstream text;
  text << in.rdbuf();
  auto g = ir::ParseGraph(text.str());
  EXPECT_TRUE(g.ok()) << g.status();
  std::ostringstream log;
  passes::FuseOptions o = base;
  o.explain = &log;
  EXPECT_TRUE(passes::Fuse(*g, o).ok());
  return log.str();
}

TEST(Fuse, ExplainsEveryGroupAndRefusal) {
  const std::string ln = Explain("add_layernorm.in.ir");
  EXPECT_NE(ln.find("fuse add_layernorm: %s, %y <- add_layernorm {add, layernorm}"),
            std::string::npos)
      << ln;
  EXPECT_NE(
      ln.find(
          "refuse add_layernorm at %z: its input is not a residual add (it is a graph argument)"),
      std::string::npos)
      << ln;
  EXPECT_NE(ln.find("refuse add_layernorm at %g2: %g2 is returned or updates state"),
            std::string::npos)
      << ln;
  const std::string sm = Explain("scale_mask_softmax.in.ir");
  EXPECT_NE(sm.find("refuse scale_mask_softmax at %p2: %s2 is returned or updates state"),
            std::string::npos)
      << sm;
  const std::string at = Explain("causal_attention.in.ir");
  EXPECT_NE(at.find("fuse causal_attention: %dq, %dk, %dv <- causal_attention_grad {matmul, "
                    "scale, causal_mask, softmax, matmul, matmul, softmax_grad, causal_mask, "
                    "scale, matmul, matmul}"),
            std::string::npos)
      << at;
  EXPECT_NE(at.find("refuse causal_attention at %y2: the probabilities are returned"),
            std::string::npos)
      << at;
  const std::string xe = Explain("softmax_xent.in.ir");
  EXPECT_NE(
      xe.find("fuse softmax_xent: %dl2 <- softmax_xent_grad {softmax, xent_grad, softmax_grad}"),
      std::string::npos)
      << xe;
  EXPECT_NE(xe.find("refuse softmax_xent at %loss2: %p2 is returned or updates state"),
            std::string::npos)
      << xe;
  const std::string ew = Explain("elementwise.in.ir");
  EXPECT_NE(ew.find("refuse elementwise at %v: its size 8 differs from the group's 32"),
            std::string::npos)
      << ew;
  EXPECT_NE(ew.find("refuse elementwise at %e: read by several groups; read outside the group "
                    "by: %mm = f32[4,8] matmul(%e, %w), which depends on it"),
            std::string::npos)
      << ew;
  const std::string off = Explain("adamw.in.ir", {{"elementwise"}, nullptr});
  EXPECT_NE(off.find("refuse adamw at %new: pattern adamw is off"), std::string::npos) << off;
}

TEST(Fuse, PatternsCanBeChosen) {
  ir::Graph unfused = testing::TinyTrainStep(/*fuse=*/false);
  passes::FuseOptions only_ln;
  only_ln.patterns = {"add_layernorm"};
  auto g = passes::Fuse(unfused, only_ln);
  ASSERT_TRUE(g.ok()) << g.status();
  int fused = 0;
  for (const ir::Node& n : g->nodes()) {
    if (!ir::HasTrait(n.op, ir::kFused)) continue;
    ++fused;
    EXPECT_TRUE(n.op == ir::Op::kAddLayerNorm || n.op == ir::Op::kAddLayerNormGrad)
        << ir::OpName(n.op);
  }
  EXPECT_EQ(fused, 5 + 4);  // ln_1, ln_2 of 2 blocks and ln_f; the 4 block layernorm backwards
  passes::FuseOptions bad;
  bad.patterns = {"add_layernorm", "conv_relu"};
  EXPECT_EQ(passes::Fuse(unfused, bad).status().message(),
            "unknown fusion pattern 'conv_relu'; the patterns are: softmax_xent, causal_attention, "
            "scale_mask_softmax, add_layernorm, bias_gelu, matmul_bias, adamw, elementwise, "
            "chunked_xent");
}

TEST(Fuse, RunsOnceAfterAutodiff) {
  ir::Graph fused = testing::TinyTrainStep();
  EXPECT_EQ(passes::Fuse(fused).status().message(),
            "fuse: the graph is already fused (it runs once, after autodiff)");
  auto m = nn::BuildGpt(*PresetConfig("tiny"));
  auto fwd = passes::Fuse(*passes::SelectOutputs(m->graph, {"loss"}));
  ASSERT_TRUE(fwd.ok());
  EXPECT_NE(passes::Autodiff(*fwd).status().message().find(
                "autodiff: no gradient rule for: add_layernorm"),
            std::string::npos);
}

// Arguments of a train step: the model's initial parameters, zero moments, a fixed batch.
ir::LiteralMap StepArgs(const nn::GptGraph& m, const ir::Graph& train) {
  ir::LiteralMap args = testing::RandomArgs(train, 5, 65);
  for (const auto& [name, lit] : InitParams(m.params, 11)) args[name] = lit;
  for (ir::ValueId v : train.States()) args[train.value(v).name] = ir::Literal(train.value(v).type);
  args["lr"] = ir::Literal(ir::F32({}), {1e-2});
  return args;
}

TEST(Fuse, FusedTrainStepEqualsUnfusedOnTheInterpreter) {
  auto m = nn::BuildGpt(*PresetConfig("tiny"));
  ir::Graph unfused = testing::TinyTrainStep(false), fused = testing::TinyTrainStep(true);
  ir::LiteralMap s1 = StepArgs(*m, unfused), s2 = s1;
  for (int step = 1; step <= 3; ++step) {
    ir::LiteralMap in = {{"tokens", s1["tokens"]},
                         {"targets", s1["targets"]},
                         {"lr", s1["lr"]},
                         {"step", ir::Literal(ir::F32({}), {double(step)})}};
    auto a = ir::InterpretStep(unfused, s1, in), b = ir::InterpretStep(fused, s2, in);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
    EXPECT_EQ((*a)[0].data[0], (*b)[0].data[0]) << "step " << step;
  }
  for (const auto& [name, lit] : s1) EXPECT_EQ(lit.data, s2[name].data) << name;
}

TEST(Fuse, FusedTrainStepMatchesUnfusedOnTheJit) {
  auto m = nn::BuildGpt(*PresetConfig("tiny"));
  ir::Graph unfused = testing::TinyTrainStep(false), fused = testing::TinyTrainStep(true);
  ir::LiteralMap args = StepArgs(*m, unfused);
  StateStore st1, st2;
  auto e1 = Executable::Create(unfused, testing::SharedCompiler(), st1);
  auto e2 = Executable::Create(fused, testing::SharedCompiler(), st2);
  ASSERT_TRUE(e1.ok() && e2.ok()) << e1.status() << e2.status();
  EXPECT_LT((*e2)->num_kernel_calls() * 3, (*e1)->num_kernel_calls())
      << "fusion should cut kernel calls";
  for (auto [st, ex] : {std::pair{&st1, e1->get()}, std::pair{&st2, e2->get()}}) {
    for (const auto& [name, lit] : args)
      if (st->Find(name)) {
        ASSERT_TRUE(st->Set(name, lit).ok());
      }
    for (const char* in : {"tokens", "targets", "lr"}) ASSERT_TRUE(ex->SetInput(in, args[in]).ok());
  }
  for (int step = 1; step <= 5; ++step) {
    const ir::Literal s(ir::F32({}), {double(step)});
    ASSERT_TRUE((*e1)->SetInput("step", s).ok());
    ASSERT_TRUE((*e2)->SetInput("step", s).ok());
    auto a = (*e1)->Run(), b = (*e2)->Run();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NEAR((*a)[0].data[0], (*b)[0].data[0], 1e-5 * std::abs((*a)[0].data[0]))
        << "step " << step;
  }
}

// Every parameter gradient of the fused and the unfused gradient graph on the JIT. Errors are
// measured against the largest gradient of the model: some true gradients are exactly zero
// (the key bias: softmax ignores a shift of every score), and there both graphs give float
// noise whose relative difference means nothing. (That noise is also why parameters after a
// few AdamW steps are not compared: Adam's normalised step turns it into full-size updates.)
TEST(Fuse, FusedGradientsMatchUnfusedOnTheJit) {
  auto m = nn::BuildGpt(*PresetConfig("tiny"));
  auto grads = passes::Autodiff(*passes::SelectOutputs(m->graph, {"loss"}));
  ASSERT_TRUE(grads.ok());
  auto fused = passes::Fuse(*grads);
  ASSERT_TRUE(fused.ok()) << fused.status();
  ir::LiteralMap args = testing::RandomArgs(*grads, 5, 65);
  for (const auto& [name, lit] : InitParams(m->params, 11)) args[name] = lit;
  std::vector<ir::Literal> out[2];
  int i = 0;
  for (const ir::Graph* g : {&*grads, &*fused}) {
    auto r = testing::RunOnJit(*g, args);
    ASSERT_TRUE(r.ok()) << r.status();
    out[i++] = *r;
  }
  double scale = 0;
  for (const ir::Literal& l : out[0])
    for (double x : l.data) scale = std::max(scale, std::abs(x));
  for (size_t k = 0; k < out[0].size(); ++k) {
    double diff = 0;
    for (size_t e = 0; e < out[0][k].data.size(); ++e)
      diff = std::max(diff, std::abs(out[0][k].data[e] - out[1][k].data[e]));
    EXPECT_LE(diff / scale, 1e-5) << "output " << k << " %"
                                  << grads->value(grads->outputs()[k]).name;
  }
}

}  // namespace
}  // namespace gptc
