// The interpreter against PyTorch, as llm.c's test_gpt2.c does, for each model family:
//   gpt    the `tiny` GPT (fixture: scripts/make_torch_fixture.py, PyTorch in float32);
//   llama  `tiny-llama` (scripts/make_llama_torch_fixture.py, Hugging Face's Llama arithmetic
//          in float64).
// Tolerances, relative per tensor as max|ours - torch| / max|torch| (for scalars
// |ours - torch| / |torch|): logits and loss 1e-5, every parameter gradient 1e-4 for gpt and
// 1e-5 for llama (its reference is float64); the losses of 10 AdamW steps with clipping within
// 1e-4 absolute.
#include <cmath>

#include "absl/strings/str_format.h"
#include "frontend/buffer.h"
#include "frontend/model_registry.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "passes/autodiff.h"
#include "passes/train_graphs.h"
#include "tests/fixture.h"

namespace gptc {
namespace {

using testing::RelativeMaxDiff;

struct Family {
  const char* name;
  const char* preset;
  const char* fixture;
  double grad_tolerance;
};
const Family kFamilies[] = {{"gpt", "tiny", "gpt_tiny_torch.fix", 1e-4},
                            {"llama", "tiny-llama", "llama_tiny_torch.fix", 1e-5}};

// The fixture, the model's forward graph, and its parameters, buffers and batch as
// interpreter arguments.
struct ParitySetup {
  ir::LiteralMap fix;
  ForwardGraph model;
  ir::LiteralMap args;
};

ParitySetup Load(const Family& f) {
  auto fix = testing::ReadFixture(testing::TestDataPath(f.fixture));
  EXPECT_TRUE(fix.ok()) << fix.status();
  auto model = PresetModel(f.preset);
  EXPECT_TRUE(model.ok()) << model.status();
  auto fwd = model->forward({.batch = model->batch_size, .training = false});
  EXPECT_TRUE(fwd.ok()) << fwd.status();
  ParitySetup s{*fix, *std::move(fwd), {}};
  for (const ParamSpec& p : s.model.params) {
    EXPECT_TRUE(s.fix.count(p.name)) << "fixture lacks parameter " << p.name;
    EXPECT_EQ(s.fix[p.name].type, p.type) << p.name;
    s.args[p.name] = s.fix[p.name];
  }
  for (const BufferSpec& b : s.model.buffers) s.args[b.name] = *MakeBuffer(b);
  s.args["tokens"] = s.fix["tokens"];
  s.args["targets"] = s.fix["targets"];
  return s;
}

class TorchParity : public ::testing::TestWithParam<std::tuple<Family, ir::Precision>> {
 protected:
  const Family& family() const { return std::get<0>(GetParam()); }
  ir::Precision precision() const { return std::get<1>(GetParam()); }
};

TEST_P(TorchParity, ForwardLogitsAndLoss) {
  ParitySetup s = Load(family());
  auto out = ir::Interpret(s.model.graph, s.args, {precision()});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ((*out)[0].type, s.fix.at("logits").type);
  const double logits_rel = RelativeMaxDiff((*out)[0], s.fix.at("logits"));
  const double loss_rel =
      std::abs((*out)[1].data[0] - s.fix.at("loss").data[0]) / std::abs(s.fix.at("loss").data[0]);
  EXPECT_LT(logits_rel, 1e-5);
  EXPECT_LT(loss_rel, 1e-5);
  RecordProperty("logits_rel", absl::StrFormat("%.3g", logits_rel));
  RecordProperty("loss_rel", absl::StrFormat("%.3g", loss_rel));
}

TEST_P(TorchParity, EveryParameterGradient) {
  ParitySetup s = Load(family());
  auto fwd = passes::SelectOutputs(s.model.graph, {"loss"});
  ASSERT_TRUE(fwd.ok());
  auto g = passes::Autodiff(*fwd);
  ASSERT_TRUE(g.ok()) << g.status();
  auto out = ir::Interpret(*g, s.args, {precision()});
  ASSERT_TRUE(out.ok()) << out.status();
  double worst = 0;
  for (size_t i = 0; i < s.model.params.size(); ++i) {
    const std::string& name = s.model.params[i].name;
    const ir::Literal& want = s.fix["grad." + name];
    const double rel = RelativeMaxDiff((*out)[1 + i], want);
    EXPECT_LT(rel, family().grad_tolerance) << "grad." << name;
    worst = std::max(worst, rel);
  }
  RecordProperty("worst_grad_rel", absl::StrFormat("%.3g", worst));
}

TEST_P(TorchParity, TenAdamWStepsWithClipping) {
  ParitySetup s = Load(family());
  const ir::Literal& hp = s.fix["adamw.hparams"];  // lr, beta1, beta2, eps, weight decay, clip
  passes::AdamWOptions o;
  o.beta1 = hp.data[1];
  o.beta2 = hp.data[2];
  o.eps = hp.data[3];
  o.weight_decay = hp.data[4];
  o.clip_norm = hp.data[5];
  auto train = passes::BuildTrainStep(s.model.graph, o);
  ASSERT_TRUE(train.ok()) << train.status();
  ir::LiteralMap state;
  for (const ParamSpec& p : s.model.params) state[p.name] = s.args[p.name];
  for (const BufferSpec& b : s.model.buffers) state[b.name] = s.args[b.name];
  for (ir::ValueId v : train->States())
    if (!state.count(train->value(v).name))
      state[train->value(v).name] = ir::Literal(train->value(v).type);
  const ir::Literal& want = s.fix["adamw.losses"];
  for (int step = 1; step <= 10; ++step) {
    ir::LiteralMap in = {{"tokens", s.args["tokens"]},
                         {"targets", s.args["targets"]},
                         {"lr", ir::Literal(ir::F32({}), {hp.data[0]})},
                         {"step", ir::Literal(ir::F32({}), {double(step)})}};
    auto out = ir::InterpretStep(*train, state, in, {precision()});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_NEAR((*out)[0].data[0], want.data[step - 1], 1e-4) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(FamiliesAndPrecisions, TorchParity,
                         ::testing::Combine(::testing::ValuesIn(kFamilies),
                                            ::testing::Values(ir::Precision::kF32,
                                                              ir::Precision::kF64)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" +
                                  (std::get<1>(info.param) == ir::Precision::kF32 ? "f32" : "f64");
                         });

TEST(Fixture, CorruptFilesAreErrorsNotCrashes) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::FILE* f = std::fopen((dir + name).c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return dir + name;
  };
  EXPECT_EQ(testing::ReadFixture(write("magic.fix", "NOTAFIXT")).status().message(),
            "fixture '" + dir + "magic.fix' at byte 8: bad magic (not a gptc fixture)");
  EXPECT_EQ(testing::ReadFixture(write("trunc.fix", std::string("GPTCFIX1\x01\x00", 10)))
                .status()
                .message(),
            "fixture '" + dir + "trunc.fix' at byte 8: truncated");
}

}  // namespace
}  // namespace gptc
