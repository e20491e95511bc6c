// The single AdamW kernel (passes/fuse_adamw.cc, codegen/lower_adamw.cc): every preset's
// train step updates all its parameters with one adamw node, which the plan lays out as
// four contiguous blocks (so the kernel streams them); the verifier holds the node's body to
// ir/adamw_update.h's update, so a changed hyperparameter or body is refused, not
// miscompiled. Its numbers are checked elsewhere against the interpreter and PyTorch:
// FusedTrainStepOfTinyGpt (the per-parameter form, value by value), Fuse.* (JIT steps
// against the unfused graph), PlanRuntime.* (the blocked form bit-identical to the
// per-parameter one) and TorchParity.TenAdamWStepsWithClipping.
#include "codegen/kernel_spec.h"
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/train_graphs.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

TEST(AdamWKernel, EveryPresetUpdatesAllParametersInOneBlockedKernel) {
  for (const char* preset : {"tiny", "shakespeare-cpu", "baby"}) {
    SCOPED_TRACE(preset);
    auto model = nn::BuildGpt(*PresetConfig(preset));
    ASSERT_TRUE(model.ok());
    auto g = passes::BuildTrainStep(model->graph, passes::StepOptions());
    ASSERT_TRUE(g.ok()) << g.status();
    int adamw = 0, chains = 0;
    for (const ir::Node& n : g->nodes()) {
      if (n.op == ir::Op::kFusion && *n.attrs.GetString("pattern") == "adamw") ++chains;
      if (n.op != ir::Op::kAdamW) continue;
      ++adamw;
      EXPECT_EQ((n.inputs.size() - 2) / 4, model->params.size());
      EXPECT_TRUE(codegen::KernelSpec::FromNode(*g, n).adamw_blocked);
    }
    EXPECT_EQ(adamw, 1);
    EXPECT_EQ(chains, 0);
  }
}

TEST(AdamWKernel, TheVerifierRefusesABodyThatIsNotAdamW) {
  const std::string text = ir::PrintGraph(testing::TinyTrainStep());
  ASSERT_TRUE(ir::Verify(*ir::ParseGraph(text)).ok());
  auto refused = [&](const std::string& from, const std::string& to) {
    std::string bad = text;
    const size_t at = bad.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at == std::string::npos) return std::string();
    bad.replace(at, from.size(), to);
    auto g = ir::ParseGraph(bad);
    return g.ok() ? std::string(ir::Verify(*g).message()) : std::string(g.status().message());
  };
  // A hyperparameter the body does not use.
  EXPECT_NE(refused("beta1=0.9 ", "beta1=0.8 ").find("is not AdamW's update of its operands"),
            std::string::npos);
  // A parameter said not to decay whose body decays it, and a list of the wrong length.
  EXPECT_NE(refused("decay=[1,", "decay=[0,").find("is not AdamW's update"), std::string::npos);
  EXPECT_NE(refused("decay=[1,", "decay=[").find("whether it decays"), std::string::npos);
  // A body that computes something else (the first moment's decay changed).
  EXPECT_NE(refused("factor=0.9\n", "factor=0.8\n").find("is not AdamW's update"),
            std::string::npos);
}

}  // namespace
}  // namespace gptc
