// Every op's gradient rule against central finite differences, in float64 on the interpreter.
// Tolerance: |analytic - numeric| <= 1e-6 * max(1, |numeric|) with h = 1e-6, where the
// truncation error is O(h^2) and rounding O(1e-16 / h) = 1e-10: a wrong rule is off by O(1).
// Shapes include size-1 axes; several cases use a value twice (fan-out).
#include "tests/gradcheck.h"

#include "frontend/ops.h"
#include "gtest/gtest.h"

namespace gptc {
namespace {

using testing::GradCheck;
using P = const std::vector<Tensor>&;
constexpr double kTol = 1e-6;

#define EXPECT_GRAD_OK(result)                                \
  do {                                                        \
    auto r_ = (result);                                       \
    EXPECT_GT(r_.elements, 0);                                \
    EXPECT_LT(r_.max_rel_err, kTol) << "worst: " << r_.worst; \
  } while (0)

// Each unary and binary op alone: elementwise_ops_test.cc.

// numpy broadcasting in the DSL: the stretched operand's gradient is summed back to its shape.
TEST(GradCheck, BroadcastingBinaryOps) {
  const std::vector<std::pair<ir::Shape, ir::Shape>> cases = {
      {{2, 3, 4}, {4}}, {{2, 3, 4}, {2, 3, 1}}, {{3, 1}, {1, 4}}, {{2, 1, 4}, {3, 1}},
      {{2, 3}, {1, 1}}};
  for (const auto& [sa, sb] : cases) {
    SCOPED_TRACE(::testing::PrintToString(sa) + " " + ::testing::PrintToString(sb));
    EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return p[0] * p[1] + p[1]; }, {sa, sb}));
    EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return p[1] / p[0]; }, {sa, sb}, 3, true));
  }
}

// The values: out[i, j] = a[i, 0] - b[0, j], as numpy computes a - b.
TEST(GradCheck, BroadcastingValuesFollowNumpy) {
  Builder b("bc");
  Tensor x = b.Input("a", ir::F32({3, 1}));
  Tensor y = b.Input("b", ir::F32({1, 4}));
  Tensor d = (x - y).named("d");
  EXPECT_EQ(d.shape(), (ir::Shape{3, 4}));
  auto g = b.Finish({d});
  ASSERT_TRUE(g.ok()) << g.status();
  ir::Literal av(ir::F32({3, 1})), bv(ir::F32({1, 4}));
  for (int i = 0; i < 3; ++i) av.data[i] = 10.0 * i;
  for (int j = 0; j < 4; ++j) bv.data[j] = j + 0.5;
  auto out = ir::Interpret(*g, {{"a", av}, {"b", bv}});
  ASSERT_TRUE(out.ok()) << out.status();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ((*out)[0].data[i * 4 + j], 10.0 * i - (j + 0.5));
}

TEST(GradCheck, FanOutSumsGradients) {
  EXPECT_GRAD_OK(
      GradCheck([](Builder&, P p) { return p[0] * p[0] + Exp(p[0]) - Tanh(p[0]); }, {{3, 2}}));
}

TEST(GradCheck, MatMulAllForms) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(::testing::PrintToString(ta) + ::testing::PrintToString(tb));
      const int64_t m = 3, k = 4, n = 2;
      ir::Shape a = ta ? ir::Shape{2, k, m} : ir::Shape{2, m, k};
      ir::Shape b = tb ? ir::Shape{2, n, k} : ir::Shape{2, k, n};
      auto f = [ta, tb](Builder&, P p) { return MatMul(p[0], p[1], {ta, tb}); };
      EXPECT_GRAD_OK(GradCheck(f, {a, b}));
      // A 2-D right operand shared across the batch.
      ir::Shape b2 = tb ? ir::Shape{n, k} : ir::Shape{k, n};
      EXPECT_GRAD_OK(GradCheck(f, {a, b2}));
    }
  // Size-1 rows and inner dimension.
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return MatMul(p[0], p[1]); }, {{1, 1}, {1, 3}}));
  EXPECT_GRAD_OK(GradCheck(
      [](Builder&, P p) {
        return MatMul(p[0], p[1], {false, true});
      },
      {{2, 1, 3}, {4, 3}}));
  // Both operands the same value.
  EXPECT_GRAD_OK(GradCheck(
      [](Builder&, P p) {
        return MatMul(p[0], p[0], {false, true});
      },
      {{3, 4}}));
}

TEST(GradCheck, Layout) {
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return Reshape(p[0], {3, 4}); }, {{2, 6}}));
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return Transpose(p[0], {2, 0, 1}); }, {{2, 3, 4}}));
  for (auto [start, end] : {std::pair{0, 2}, std::pair{1, 3}, std::pair{2, 5}, std::pair{0, 5}})
    EXPECT_GRAD_OK(
        GradCheck([=](Builder&, P p) { return Slice(p[0], 1, start, end); }, {{2, 5, 1}}));
  EXPECT_GRAD_OK(GradCheck(
      [](Builder&, P p) {
        return Concat({p[0], p[1], p[0]}, 1);
      },
      {{2, 1}, {2, 3}}));
  // Several slices of one value: joined into one concat (a gap, an overlap-free partition,
  // and overlapping slices that fall back to one padded concat each).
  EXPECT_GRAD_OK(GradCheck(
      [](Builder&, P p) { return Slice(p[0], 1, 0, 2) * Slice(p[0], 1, 3, 5); }, {{2, 6}}));
  EXPECT_GRAD_OK(GradCheck(
      [](Builder&, P p) {
        return Concat({Slice(p[0], 0, 1, 3), Slice(p[0], 0, 0, 1)}, 0);
      },
      {{3, 2}}));
  EXPECT_GRAD_OK(GradCheck(
      [](Builder&, P p) { return Slice(p[0], 1, 0, 3) * Slice(p[0], 1, 1, 4); }, {{2, 4}}));
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return Broadcast(p[0], {3, 2, 4}); }, {{2, 4}}));
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return Broadcast(p[0], {3, 2}); }, {{}}));
  EXPECT_GRAD_OK(GradCheck(
      [](Builder& b, P p) {
        return b.Apply(ir::Op::kExpand, {p[0]}, {{"axis", int64_t{1}}, {"size", int64_t{3}}});
      },
      {{2, 4}}));
}

TEST(GradCheck, Reductions) {
  for (int axis : {0, 1, 2}) {
    EXPECT_GRAD_OK(GradCheck([=](Builder&, P p) { return Sum(p[0], axis); }, {{2, 3, 4}}));
    EXPECT_GRAD_OK(GradCheck([=](Builder&, P p) { return Mean(p[0], axis); }, {{2, 3, 4}}));
    EXPECT_GRAD_OK(GradCheck([=](Builder&, P p) { return Max(p[0], axis); }, {{2, 3, 4}}));
  }
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return Sum(p[0], 0); }, {{1, 3}}));
}

TEST(GradCheck, LayerNorm) {
  EXPECT_GRAD_OK(
      GradCheck([](Builder&, P p) { return LayerNorm(p[0], p[1], p[2]); }, {{2, 3, 8}, {8}, {8}}));
  EXPECT_GRAD_OK(
      GradCheck([](Builder&, P p) { return LayerNorm(p[0], p[1], p[2]); }, {{1, 2}, {2}, {2}}));
  // The normalised value feeding itself: gradients from two paths.
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return LayerNorm(p[0], p[1], p[2]) * p[0]; },
                           {{3, 5}, {5}, {5}}));
}

TEST(GradCheck, Softmax) {
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return Softmax(p[0]); }, {{3, 5}}));
  // The causal mask: masked entries (-inf) get probability 0 and no gradient.
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return Softmax(CausalMask(p[0])); }, {{2, 4, 4}}));
  EXPECT_GRAD_OK(
      GradCheck([](Builder&, P p) { return Softmax(CausalMask(p[0])); }, {{2, 6}}));  // Tk > Tq
  EXPECT_GRAD_OK(GradCheck([](Builder&, P p) { return Softmax(p[0]); }, {{4, 1}}));
}

TEST(GradCheck, SoftmaxCrossEntropyAndEmbedding) {
  const ir::LiteralMap targets = {{"t", ir::Literal(ir::I32({2, 3}), {0, 4, 2, 2, 1, 3})}};
  EXPECT_GRAD_OK(GradCheck(
      [](Builder& b, P p) {
        return SoftmaxCrossEntropy(p[0], b.Input("t", ir::I32({2, 3})));
      },
      {{2, 3, 5}}, 1, false, targets));
  // Repeated ids: their rows' gradients are summed (scatter-add).
  EXPECT_GRAD_OK(GradCheck(
      [](Builder& b, P p) {
        return Embedding(p[0], b.Input("t", ir::I32({2, 3})));
      },
      {{5, 4}}, 1, false, targets));
}

}  // namespace
}  // namespace gptc
