// The interpreter's forward pass of the `tiny` GPT against PyTorch
// (fixture: scripts/make_torch_fixture.py). Tolerance: 1e-5 relative, measured per tensor as
// max|ours - torch| / max|torch|, and for the loss |ours - torch| / |torch|.
#include <cmath>

#include "frontend/config.h"
#include "frontend/nn/gpt.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "tests/fixture.h"

namespace gptc {
namespace {

double RelativeMaxDiff(const ir::Literal& got, const ir::Literal& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.data.size(); ++i) {
    diff = std::max(diff, std::abs(got.data[i] - want.data[i]));
    scale = std::max(scale, std::abs(want.data[i]));
  }
  return diff / scale;
}

class TorchParity : public ::testing::TestWithParam<ir::Precision> {};

TEST_P(TorchParity, TinyForwardLogitsAndLoss) {
  auto fix = testing::ReadFixture(testing::TestDataPath("gpt_tiny_torch.fix"));
  ASSERT_TRUE(fix.ok()) << fix.status();
  auto m = nn::BuildGpt(*PresetConfig("tiny"));
  ASSERT_TRUE(m.ok());
  ir::LiteralMap args;
  for (const ParamSpec& p : m->params) {
    ASSERT_TRUE(fix->count(p.name)) << "fixture lacks parameter " << p.name;
    ASSERT_EQ(fix->at(p.name).type, p.type) << p.name;
    args[p.name] = fix->at(p.name);
  }
  args["tokens"] = fix->at("tokens");
  args["targets"] = fix->at("targets");
  auto out = ir::Interpret(m->graph, args, {GetParam()});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ((*out)[0].type, fix->at("logits").type);
  const double logits_rel = RelativeMaxDiff((*out)[0], fix->at("logits"));
  const double loss_rel = std::abs((*out)[1].data[0] - fix->at("loss").data[0]) /
                          std::abs(fix->at("loss").data[0]);
  EXPECT_LT(logits_rel, 1e-5);
  EXPECT_LT(loss_rel, 1e-5);
  RecordProperty("logits_rel", std::to_string(logits_rel));
  RecordProperty("loss_rel", std::to_string(loss_rel));
}

INSTANTIATE_TEST_SUITE_P(Precisions, TorchParity,
                         ::testing::Values(ir::Precision::kF32, ir::Precision::kF64),
                         [](const auto& info) {
                           return info.param == ir::Precision::kF32 ? "f32" : "f64";
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
  EXPECT_EQ(testing::ReadFixture(write("trunc.fix", std::string("GPTCFIX1\x01\x00", 10))).status().message(),
            "fixture '" + dir + "trunc.fix' at byte 8: truncated");
}

}  // namespace
}  // namespace gptc
