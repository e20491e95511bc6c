// The DSL checks shapes as the model is written and reports the first error with the op,
// the shapes and the would-be IR line.
#include "frontend/builder.h"
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"

namespace gptc {
namespace {

TEST(BuilderErrors, MatMulInnerDimensions) {
  Builder b;
  Tensor x = b.Input("x", ir::F32({2, 8, 128}));
  Tensor w = b.Param("w", ir::F32({384, 64}), ParamInit::Zeros());
  auto scope = b.PushScope("h.0.attn");
  MatMul(x, w);
  auto g = b.Finish({x});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(),
            "matmul: inner dimensions differ (128 vs 384) in: "
            "%h.0.attn.matmul = matmul(%x: f32[2,8,128], %w: f32[384,64])");
}

TEST(BuilderErrors, ElementwiseShapes) {
  Builder b;
  Tensor x = b.Input("x", ir::F32({2, 3}));
  Tensor y = b.Input("y", ir::F32({3, 2}));
  (void)(x + y);
  EXPECT_EQ(b.status().message(),
            "add: %x f32[2,3] and %y f32[3,2] do not broadcast (numpy's rule: equal, or 1)");
}

TEST(BuilderErrors, ReshapeElementCount) {
  Builder b;
  Tensor x = b.Input("x", ir::F32({2, 3}));
  Reshape(x, {4, 2});
  EXPECT_EQ(b.status().message(),
            "reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements) in: "
            "%reshape = reshape(%x: f32[2,3])  shape=[4,2]");
}

TEST(BuilderErrors, ReshapeInfersOneAxis) {
  Builder b;
  Tensor x = b.Input("x", ir::F32({2, 3, 4}));
  EXPECT_EQ(Reshape(x, {-1, 4}).shape(), (ir::Shape{6, 4}));
  EXPECT_TRUE(b.ok());
}

TEST(BuilderErrors, AxisOutOfRange) {
  Builder b;
  Tensor x = b.Input("x", ir::F32({2, 3}));
  Sum(x, -3);
  EXPECT_EQ(b.status().message(), "sum: axis -3 is out of range for %x: f32[2,3]");
}

TEST(BuilderErrors, EmbeddingIdsMustBeIntegers) {
  Builder b;
  Tensor table = b.Param("wte", ir::F32({65, 32}), ParamInit::Zeros());
  Tensor ids = b.Input("ids", ir::F32({4, 8}));
  Embedding(table, ids);
  EXPECT_EQ(b.status().message(),
            "embedding: ids must be i32, got f32[4,8] in: "
            "%embedding = embedding(%wte: f32[65,32], %ids: f32[4,8])");
}

TEST(BuilderErrors, FirstErrorWinsAndLaterOpsAreNoOps) {
  Builder b;
  Tensor x = b.Input("x", ir::F32({2, 3}));
  Tensor bad = Slice(x, 1, 2, 9);
  EXPECT_FALSE(bad.valid());
  Tensor later = Gelu(bad) + x;  // silently invalid: the first error is the useful one
  EXPECT_FALSE(later.valid());
  Transpose(x, {0, 0});  // a second, unrelated error is not recorded over the first
  EXPECT_EQ(b.status().message(),
            "slice: range [2,9) is empty or outside [0,3) on axis 1 of [2,3] in: "
            "%slice = slice(%x: f32[2,3])  axis=1 end=9 start=2");
  EXPECT_FALSE(b.Finish({x}).ok());
}

TEST(BuilderErrors, DuplicateParameter) {
  Builder b;
  b.Param("w", ir::F32({2}), ParamInit::Zeros());
  b.Param("w", ir::F32({2}), ParamInit::Zeros());
  EXPECT_EQ(b.status().message(), "parameter %w is declared twice");
}

TEST(BuilderErrors, InvalidConfigNamesTheField) {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.n_head = 3;
  auto m = nn::BuildGpt(cfg);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "config 'tiny': n_embd (32) must be a multiple of n_head (3)");
  cfg = *PresetConfig("tiny");
  cfg.n_layer = 0;
  EXPECT_EQ(nn::BuildGpt(cfg).status().message(), "config 'tiny': n_layer must be positive, got 0");
  EXPECT_EQ(PresetConfig("huge").status().message(),
            "unknown config 'huge'; presets are: tiny, shakespeare-cpu, baby, gpt2, gpt2-medium");
}

}  // namespace
}  // namespace gptc
