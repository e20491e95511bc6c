// The JIT-compiled `tiny` GPT against the PyTorch fixture, to the interpreter's tolerances:
// logits and loss 1e-5 relative (per tensor, max|ours - torch| / max|torch|), every parameter
// gradient 1e-4 relative (unfused and fused), and the 10-step AdamW loss trajectory with
// clipping within 1e-4 (the train step as the runtime builds it, fused).
#include <cmath>

#include "frontend/nn/gpt_config.h"
#include "frontend/nn/gpt.h"
#include "gtest/gtest.h"
#include "passes/autodiff.h"
#include "passes/fuse.h"
#include "passes/train_graphs.h"
#include "runtime/executable.h"
#include "tests/fixture.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

using testing::RelativeMaxDiff;

class JitParity : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fix = testing::ReadFixture(testing::TestDataPath("gpt_tiny_torch.fix"));
    ASSERT_TRUE(fix.ok()) << fix.status();
    fix_ = *fix;
    auto m = nn::BuildGpt(*PresetConfig("tiny"));
    ASSERT_TRUE(m.ok());
    model_ = *m;
  }
  // An executable of g over a store holding the fixture's parameters and batch.
  std::unique_ptr<Executable> Make(const ir::Graph& g) {
    auto ex = Executable::Create(g, testing::SharedCompiler(), store_);
    EXPECT_TRUE(ex.ok()) << ex.status();
    for (const ParamSpec& p : model_.params) EXPECT_TRUE(store_.Set(p.name, fix_[p.name]).ok());
    EXPECT_TRUE((*ex)->SetInput("tokens", fix_["tokens"]).ok());
    EXPECT_TRUE((*ex)->SetInput("targets", fix_["targets"]).ok());
    return *std::move(ex);
  }
  ir::LiteralMap fix_;
  nn::GptGraph model_;
  StateStore store_;
};

TEST_F(JitParity, ForwardLogitsAndLoss) {
  auto ex = Make(model_.graph);
  auto out = ex->Run();
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_LT(RelativeMaxDiff((*out)[0], fix_["logits"]), 1e-5);
  EXPECT_LT(std::abs((*out)[1].data[0] - fix_["loss"].data[0]) / fix_["loss"].data[0], 1e-5);
}

TEST_F(JitParity, EveryParameterGradient) {
  auto g = passes::Autodiff(*passes::SelectOutputs(model_.graph, {"loss"}));
  ASSERT_TRUE(g.ok()) << g.status();
  auto ex = Make(*g);
  auto out = ex->Run();
  ASSERT_TRUE(out.ok()) << out.status();
  double worst = 0;
  for (size_t i = 0; i < model_.params.size(); ++i) {
    const double rel = RelativeMaxDiff((*out)[1 + i], fix_["grad." + model_.params[i].name]);
    EXPECT_LT(rel, 1e-4) << model_.params[i].name;
    worst = std::max(worst, rel);
  }
  RecordProperty("worst_grad_rel", std::to_string(worst));
}

// The same with every fusion applied (softmax_xent_grad, add_layernorm_grad, bias_gelu_grad,
// scale_mask_softmax_grad kernels in the backward pass).
TEST_F(JitParity, EveryParameterGradientFused) {
  auto g = passes::Autodiff(*passes::SelectOutputs(model_.graph, {"loss"}));
  ASSERT_TRUE(g.ok()) << g.status();
  auto fused = passes::Fuse(*g);
  ASSERT_TRUE(fused.ok()) << fused.status();
  int fused_nodes = 0;
  for (const ir::Node& n : fused->nodes()) fused_nodes += ir::HasTrait(n.op, ir::kFused);
  EXPECT_GE(fused_nodes, 10);
  auto ex = Make(*fused);
  auto out = ex->Run();
  ASSERT_TRUE(out.ok()) << out.status();
  for (size_t i = 0; i < model_.params.size(); ++i)
    EXPECT_LT(RelativeMaxDiff((*out)[1 + i], fix_["grad." + model_.params[i].name]), 1e-4)
        << model_.params[i].name;
}

TEST_F(JitParity, TenAdamWStepsWithClipping) {
  const ir::Literal& hp = fix_["adamw.hparams"];  // lr, beta1, beta2, eps, weight decay, clip
  passes::AdamWOptions o{hp.data[1], hp.data[2], hp.data[3], hp.data[4], hp.data[5]};
  auto train = passes::BuildTrainStep(model_.graph, o);
  ASSERT_TRUE(train.ok()) << train.status();
  auto ex = Make(*train);
  for (int step = 1; step <= 10; ++step) {
    ASSERT_TRUE(ex->SetInput("lr", ir::Literal(ir::F32({}), {hp.data[0]})).ok());
    ASSERT_TRUE(ex->SetInput("step", ir::Literal(ir::F32({}), {double(step)})).ok());
    auto out = ex->Run();
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_NEAR((*out)[0].data[0], fix_["adamw.losses"].data[step - 1], 1e-4) << "step " << step;
  }
}

}  // namespace
}  // namespace gptc
