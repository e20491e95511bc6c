// Every op of the interpreter against hand-computed values (worked out in the comments) or
// values from the C library computed independently in float64.
#include "ir/interpreter.h"

#include <cmath>

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/verifier.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

using ir::Literal;

Literal F(ir::Shape s, std::vector<double> v) {
  return Literal(ir::F32(std::move(s)), std::move(v));
}
Literal I(ir::Shape s, std::vector<double> v) {
  return Literal(ir::I32(std::move(s)), std::move(v));
}

// Parses `body` as a graph over the given arguments and returns its single output (float64).
Literal RunText(const std::string& text, const ir::LiteralMap& args,
                ir::Precision p = ir::Precision::kF64) {
  auto g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(ir::Verify(*g).ok()) << ir::Verify(*g);
  auto out = ir::Interpret(*g, args, {p});
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? (*out)[0] : Literal();
}

void ExpectNear(const Literal& got, const std::vector<double>& want, double tol = 1e-12) {
  ASSERT_EQ(got.data.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got.data[i], want[i], tol) << "at " << i;
}

TEST(Interpreter, BinaryElementwise) {
  const ir::LiteralMap args = {{"a", F({3}, {1, -2, 3})}, {"b", F({3}, {4, 5, -6})}};
  auto run = [&](const char* op) {
    return RunText(std::string("graph g(%a: f32[3], %b: f32[3]) {\n %c = f32[3] ") + op +
                       "(%a, %b)\n return %c\n}",
                   args);
  };
  ExpectNear(run("add"), {5, 3, -3});
  ExpectNear(run("sub"), {-3, -7, 9});
  ExpectNear(run("mul"), {4, -10, -18});
  ExpectNear(run("div"), {0.25, -0.4, -0.5});
}

TEST(Interpreter, UnaryElementwise) {
  const ir::LiteralMap args = {{"a", F({3}, {0.5, 1, 2})}};
  auto run = [&](const std::string& op) {
    return RunText("graph g(%a: f32[3]) {\n %c = f32[3] " + op + "\n return %c\n}", args);
  };
  ExpectNear(run("neg(%a)"), {-0.5, -1, -2});
  ExpectNear(run("scale(%a) factor=-3.0"), {-1.5, -3, -6});
  ExpectNear(run("exp(%a)"), {std::exp(0.5), std::exp(1.0), std::exp(2.0)});
  ExpectNear(run("log(%a)"), {std::log(0.5), 0, std::log(2.0)});
  ExpectNear(run("sqrt(%a)"), {std::sqrt(0.5), 1, std::sqrt(2.0)});
  ExpectNear(run("tanh(%a)"), {std::tanh(0.5), std::tanh(1.0), std::tanh(2.0)});
  // GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); values from PyTorch's
  // F.gelu(x, approximate='tanh') in float64.
  ExpectNear(run("gelu(%a)"), {0.34571400982514394, 0.8411919906082768, 1.954597694087775}, 1e-12);
}

TEST(Interpreter, ConstantFills) {
  ExpectNear(RunText("graph g() {\n %c = f32[2,2] constant() value=2.5\n return %c\n}", {}),
             {2.5, 2.5, 2.5, 2.5});
}

TEST(Interpreter, MatMulForms) {
  // A = [[1,2,3],[4,5,6]], B = [[1,0],[0,1],[1,1]]: A.B = [[4,5],[10,11]]
  const ir::LiteralMap args = {{"a", F({2, 3}, {1, 2, 3, 4, 5, 6})},
                               {"b", F({3, 2}, {1, 0, 0, 1, 1, 1})},
                               {"bt", F({2, 3}, {1, 0, 1, 0, 1, 1})},   // B transposed
                               {"at", F({3, 2}, {1, 4, 2, 5, 3, 6})}};  // A transposed
  const char* sig = "graph g(%a: f32[2,3], %b: f32[3,2], %bt: f32[2,3], %at: f32[3,2]) {\n";
  ExpectNear(RunText(std::string(sig) + " %c = f32[2,2] matmul(%a, %b)\n return %c\n}", args),
             {4, 5, 10, 11});
  ExpectNear(
      RunText(std::string(sig) + " %c = f32[2,2] matmul(%a, %bt) transpose_b=true\n return %c\n}",
              args),
      {4, 5, 10, 11});
  ExpectNear(
      RunText(std::string(sig) + " %c = f32[2,2] matmul(%at, %b) transpose_a=true\n return %c\n}",
              args),
      {4, 5, 10, 11});
  // Batched lhs [2,1,2] with a shared [2,2] rhs, and a batched rhs.
  const ir::LiteralMap bargs = {{"x", F({2, 1, 2}, {1, 2, 3, 4})},
                                {"w", F({2, 2}, {1, 1, 0, 1})},
                                {"y", F({2, 2, 1}, {1, 1, 2, 0})}};
  const char* bsig = "graph g(%x: f32[2,1,2], %w: f32[2,2], %y: f32[2,2,1]) {\n";
  ExpectNear(RunText(std::string(bsig) + " %c = f32[2,1,2] matmul(%x, %w)\n return %c\n}", bargs),
             {1, 3, 3, 7});
  ExpectNear(RunText(std::string(bsig) + " %c = f32[2,1,1] matmul(%x, %y)\n return %c\n}", bargs),
             {3, 6});
}

TEST(Interpreter, Embedding) {
  const ir::LiteralMap args = {{"t", F({3, 2}, {0, 1, 10, 11, 20, 21})},
                               {"i", I({2, 2}, {2, 0, 1, 1})}};
  ExpectNear(RunText("graph g(%t: f32[3,2], %i: i32[2,2]) {\n %e = f32[2,2,2] embedding(%t, %i)\n "
                     "return %e\n}",
                     args),
             {20, 21, 0, 1, 10, 11, 10, 11});
}

TEST(Interpreter, Layout) {
  // x = [[0,1,2],[3,4,5]]
  const ir::LiteralMap args = {{"x", F({2, 3}, {0, 1, 2, 3, 4, 5})}};
  auto run = [&](const std::string& line) {
    return RunText("graph g(%x: f32[2,3]) {\n " + line + "\n return %y\n}", args);
  };
  ExpectNear(run("%y = f32[3,2] reshape(%x) shape=[3,2]"), {0, 1, 2, 3, 4, 5});
  ExpectNear(run("%y = f32[3,2] transpose(%x) perm=[1,0]"), {0, 3, 1, 4, 2, 5});
  ExpectNear(run("%y = f32[2,2] slice(%x) axis=1 start=1 end=3"), {1, 2, 4, 5});
  ExpectNear(run("%y = f32[1,3] slice(%x) axis=0 start=1 end=2"), {3, 4, 5});
  ExpectNear(run("%y = f32[2,6] concat(%x, %x) axis=1"), {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
  ExpectNear(run("%y = f32[4,3] concat(%x, %x) axis=0"), {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
  ExpectNear(run("%y = f32[2,2,3] broadcast(%x) shape=[2,2,3]"),
             {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
  // A rank-3 transpose: x3[a][b][c] = 4a + 2b + c over [2,2,2]; perm [2,0,1] gives y[c][a][b].
  ExpectNear(
      RunText(
          "graph g(%x: f32[2,2,2]) {\n %y = f32[2,2,2] transpose(%x) perm=[2,0,1]\n return %y\n}",
          {{"x", F({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7})}}),
      {0, 2, 4, 6, 1, 3, 5, 7});
}

TEST(Interpreter, Reductions) {
  const ir::LiteralMap args = {{"x", F({2, 3}, {0, 5, 2, 3, -4, 1})}};
  auto run = [&](const std::string& line) {
    return RunText("graph g(%x: f32[2,3]) {\n " + line + "\n return %y\n}", args);
  };
  ExpectNear(run("%y = f32[3] sum(%x) axis=0"), {3, 1, 3});
  ExpectNear(run("%y = f32[2] sum(%x) axis=1"), {7, 0});
  ExpectNear(run("%y = f32[2] mean(%x) axis=1"), {7.0 / 3, 0});
  ExpectNear(run("%y = f32[3] max(%x) axis=0"), {3, 5, 2});
  ExpectNear(run("%y = f32[2] max(%x) axis=1"), {5, 3});
}

TEST(Interpreter, LayerNorm) {
  // Row [1,2,3,4]: mean 2.5, biased variance 1.25; with eps 0 the normalised row is
  // [-1.5,-0.5,0.5,1.5]/sqrt(1.25); then *w + b with w=[1,2,1,1], b=[0,0,0,1].
  const double s = std::sqrt(1.25);
  const ir::LiteralMap args = {
      {"x", F({1, 4}, {1, 2, 3, 4})}, {"w", F({4}, {1, 2, 1, 1})}, {"b", F({4}, {0, 0, 0, 1})}};
  ExpectNear(RunText("graph g(%x: f32[1,4], %w: f32[4], %b: f32[4]) {\n"
                     " %y = f32[1,4] layernorm(%x, %w, %b) eps=1e-300\n return %y\n}",
                     args),
             {-1.5 / s, -1.0 / s, 0.5 / s, 1.5 / s + 1});
}

TEST(Interpreter, Softmax) {
  // softmax([1,2,3]) = e^(x-3) / sum = [0.0900306, 0.2447285, 0.6652410]
  const double z = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  ExpectNear(RunText("graph g(%x: f32[1,3]) {\n %y = f32[1,3] softmax(%x)\n return %y\n}",
                     {{"x", F({1, 3}, {1, 2, 3})}}),
             {std::exp(-2.0) / z, std::exp(-1.0) / z, 1.0 / z});
  // Causal 3x3 of zeros: row i spreads evenly over keys 0..i.
  const char* causal =
      "graph g(%x: f32[3,3]) {\n %m = f32[3,3] causal_mask(%x) fill=-inf\n %y = f32[3,3] "
      "softmax(%m)\n"
      " return %y\n}";
  ExpectNear(RunText(causal, {{"x", F({3, 3}, std::vector<double>(9, 0.0))}}),
             {1, 0, 0, 0.5, 0.5, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  // With a KV cache the one query row is the last of 3 and sees every key.
  ExpectNear(RunText("graph g(%x: f32[1,3]) {\n %m = f32[1,3] causal_mask(%x) fill=-inf\n"
                     " %y = f32[1,3] softmax(%m)\n return %y\n}",
                     {{"x", F({1, 3}, {0, 0, 0})}}),
             {1.0 / 3, 1.0 / 3, 1.0 / 3});
}

TEST(Interpreter, CausalMask) {
  // Two queries over three keys (the last two positions): row 0 sees keys 0..1, row 1 all.
  ExpectNear(
      RunText("graph g(%x: f32[2,3]) {\n %y = f32[2,3] causal_mask(%x) fill=7.0\n return %y\n}",
              {{"x", F({2, 3}, {1, 2, 3, 4, 5, 6})}}),
      {1, 2, 7, 4, 5, 6});
}

TEST(Interpreter, SoftmaxCrossEntropy) {
  // Row 0: logits [0,0], target 1 -> ln 2. Row 1: logits [ln 3, 0], target 0 -> ln(4/3).
  const ir::LiteralMap args = {{"l", F({2, 2}, {0, 0, std::log(3.0), 0})}, {"t", I({2}, {1, 0})}};
  const double want = (std::log(2.0) + std::log(4.0 / 3.0)) / 2;
  ExpectNear(RunText("graph g(%l: f32[2,2], %t: i32[2]) {\n %p = f32[2,2] softmax(%l)\n"
                     " %y = f32[] xent(%p, %t)\n return %y\n}",
                     args),
             {want});
  // The fused op means its body: the same number.
  ExpectNear(
      RunText(
          "graph g(%l: f32[2,2], %t: i32[2]) {\n %y = f32[] softmax_xent(%l, %t) {\n"
          "  %p = f32[2,2] softmax(%l)\n  %y = f32[] xent(%p, %t)\n  yield %y\n }\n return %y\n}",
          args),
      {want});
  // xent_grad: -dloss / (N p[t]) at the target: p = 1/2 and 3/4, N = 2, dloss = 1.
  const ir::LiteralMap gargs = {
      {"p", F({2, 2}, {0.5, 0.5, 0.75, 0.25})}, {"t", I({2}, {1, 0})}, {"d", F({}, {1})}};
  ExpectNear(
      RunText(
          "graph g(%p: f32[2,2], %t: i32[2], %d: f32[]) {\n %y = f32[2,2] xent_grad(%p, %t, %d)\n"
          " return %y\n}",
          gargs),
      {0, -1.0, -2.0 / 3.0, 0});
}

TEST(Interpreter, Float32ModeRoundsEveryResult) {
  const ir::LiteralMap args = {{"a", F({1}, {1})}, {"b", F({1}, {3})}};
  const char* text = "graph g(%a: f32[1], %b: f32[1]) {\n %c = f32[1] div(%a, %b)\n return %c\n}";
  EXPECT_EQ(RunText(text, args, ir::Precision::kF32).data[0], static_cast<double>(1.0f / 3.0f));
  EXPECT_EQ(RunText(text, args, ir::Precision::kF64).data[0], 1.0 / 3.0);
}

TEST(Interpreter, BadArgumentsAreErrorsNamingTheValue) {
  auto g = ir::ParseGraph(
      "graph g(%t: f32[3,2], %i: i32[2]) {\n %e = f32[2,2] embedding(%t, %i)\n return %e\n}");
  ASSERT_TRUE(g.ok());
  auto missing = ir::Interpret(*g, {{"t", F({3, 2}, {0, 0, 0, 0, 0, 0})}});
  EXPECT_EQ(missing.status().message(), "interpreter: no value given for input %i: i32[2]");
  auto wrong = ir::Interpret(*g, {{"t", F({2, 3}, {0, 0, 0, 0, 0, 0})}, {"i", I({2}, {0, 1})}});
  EXPECT_EQ(wrong.status().message(),
            "interpreter: %t expects f32[3,2], given f32[2,3] with 6 elements");
  auto range = ir::Interpret(*g, {{"t", F({3, 2}, {0, 0, 0, 0, 0, 0})}, {"i", I({2}, {0, 3})}});
  EXPECT_EQ(
      range.status().message(),
      "embedding: id 3 at flat position 1 is outside [0,3) in: %e = f32[2,2] embedding(%t, %i)");
}

TEST(Interpreter, RunsTheAllOpsGraph) {
  ir::Graph g = testing::AllOpsGraph();
  ir::LiteralMap args = {{"ids", I({2, 3}, {0, 4, 2, 1, 3, 0})},
                         {"targets", I({2, 3}, {1, 0, 1, 0, 0, 1})},
                         {"table", F({5, 4}, std::vector<double>(20, 0.25))},
                         {"w", F({4}, {1, 1, 1, 1})},
                         {"bias", F({4}, {0, 0.5, 0, 0})},
                         {"moment", F({5, 4}, std::vector<double>(20, 0.0))},
                         {"pos", I({1}, {1})},
                         {"rng_key", I({2}, {7, 1})},
                         {"cache", F({2, 3, 4}, std::vector<double>(24, 0.0))}};
  for (int i = 0; i < 20; ++i) args["table"].data[i] = 0.1 * i - 1;
  auto out = ir::Interpret(g, args);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(std::isfinite((*out)[0].data[0]));
  EXPECT_GT((*out)[0].data[0], 0);
}

}  // namespace
}  // namespace gptc
