// Each class of verifier error, with its message quoting the offending node's line.
#include "ir/verifier.h"

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

std::string VerifyText(const char* text) {
  auto g = ir::ParseGraph(text);
  if (!g.ok()) return "parse error: " + std::string(g.status().message());
  absl::Status s = ir::Verify(*g);
  return s.ok() ? "ok" : std::string(s.message());
}

TEST(Verifier, AcceptsWellFormedGraphs) {
  EXPECT_TRUE(ir::Verify(testing::AllOpsGraph()).ok());
  EXPECT_EQ(VerifyText("graph g(%a: f32[2]) {\n  %b = f32[2] neg(%a)\n  return %b\n}"), "ok");
}

TEST(Verifier, FusedBodies) {
  // A named fused op must hold exactly its template.
  EXPECT_EQ(
      VerifyText("graph g(%x: f32[2,3], %b: f32[3]) {\n  %y = f32[2,3] bias_gelu(%x, %b) {\n"
                 "    %bb = f32[2,3] broadcast(%b) shape=[2,3]\n    %p = f32[2,3] sub(%x, %bb)\n"
                 "    %y = f32[2,3] gelu(%p)\n    yield %y\n  }\n  return %y\n}"),
      "bias_gelu: body must be {broadcast, add, gelu} wired as the pattern says; op 2 is sub in: "
      "%y = f32[2,3] bias_gelu(%x, %b) {broadcast, sub, gelu}");
  // Its attributes are the ones the body implies.
  EXPECT_EQ(
      VerifyText(
          "graph g(%x: f32[2,2]) {\n  %p = f32[2,2] scale_mask_softmax(%x) scale=0.5 {\n"
          "    %s = f32[2,2] scale(%x) factor=0.25\n    %m = f32[2,2] causal_mask(%s) fill=-inf\n"
          "    %p = f32[2,2] softmax(%m)\n    yield %p\n  }\n  return %p\n}"),
      "scale_mask_softmax: attributes must be 'scale=0.25' as the body implies in: "
      "%p = f32[2,2] scale_mask_softmax(%x)  scale=0.5 {scale, causal_mask, softmax}");
  // Generic fusions take elementwise ops and one final reduction only.
  EXPECT_EQ(VerifyText("graph g(%x: f32[2,2], %w: f32[2,2]) {\n  %y = f32[2,2] fusion(%x, %w) {\n"
                       "    %y = f32[2,2] matmul(%x, %w)\n    yield %y\n  }\n  return %y\n}"),
            "fusion: body op matmul is not elementwise, a broadcast, an expand or a reduction in: "
            "%y = f32[2,2] fusion(%x, %w) {matmul}");
  // Types inside the body are checked like any graph's.
  EXPECT_EQ(
      VerifyText("graph g(%x: f32[2]) {\n  %y = f32[3] fusion(%x) {\n    %y = f32[3] neg(%x)\n"
                 "    yield %y\n  }\n  return %y\n}"),
      "fusion: in its body: neg: result %y is declared f32[3] but the op gives f32[2] in: "
      "%y = f32[3] neg(%x) in: %y = f32[3] fusion(%x) {neg}");
  // Fused ops need a body, others may not have one.
  EXPECT_EQ(
      VerifyText(
          "graph g(%x: f32[2], %b: f32[2]) {\n  %y = f32[2] bias_gelu(%x, %b)\n  return %y\n}"),
      "bias_gelu: a fused op needs a body { ... yield } in: %y = f32[2] bias_gelu(%x, %b)");
  EXPECT_EQ(VerifyText("graph g(%x: f32[2]) {\n  %y = f32[2] neg(%x) {\n    %y = f32[2] neg(%x)\n"
                       "    yield %y\n  }\n  return %y\n}"),
            "neg: only fused ops have a body in: %y = f32[2] neg(%x) {neg}");
}

TEST(Verifier, WrongArity) {
  EXPECT_EQ(VerifyText("graph g(%a: f32[2]) {\n  %b = f32[2] add(%a)\n  return %b\n}"),
            "add: expects 2 operands, got 1 in: %b = f32[2] add(%a)");
}

TEST(Verifier, WrongDtype) {
  EXPECT_EQ(VerifyText("graph g(%a: i32[2]) {\n  %b = f32[2] exp(%a)\n  return %b\n}"),
            "exp: input must be f32, got i32[2] in: %b = f32[2] exp(%a)");
}

TEST(Verifier, ShapeMismatch) {
  EXPECT_EQ(VerifyText("graph g(%a: f32[2,128], %w: f32[384,64] param) {\n"
                       "  %y = f32[2,64] matmul(%a, %w)\n  return %y\n}"),
            "matmul: inner dimensions differ (128 vs 384) in: %y = f32[2,64] matmul(%a, %w)");
}

TEST(Verifier, DeclaredTypeDisagreesWithShapeRule) {
  EXPECT_EQ(
      VerifyText("graph g(%a: f32[2,3]) {\n  %b = f32[3,2] neg(%a)\n  return %b\n}"),
      "neg: result %b is declared f32[3,2] but the op gives f32[2,3] in: %b = f32[3,2] neg(%a)");
}

TEST(Verifier, MissingAttribute) {
  EXPECT_EQ(VerifyText("graph g(%a: f32[2]) {\n  %b = f32[2] scale(%a)\n  return %b\n}"),
            "scale: missing attribute 'factor' in: %b = f32[2] scale(%a)");
  EXPECT_EQ(VerifyText("graph g() {\n  %c = f32[2] constant()\n  return %c\n}"),
            "constant: missing attribute 'value' in: %c = f32[2] constant()");
}

TEST(Verifier, UseBeforeDefinition) {
  EXPECT_EQ(VerifyText("graph g(%a: f32[2]) {\n  %c = f32[2] neg(%b)\n  %b = f32[2] neg(%a)\n"
                       "  return %c\n}"),
            "use of %b before its definition in: %c = f32[2] neg(%b)");
}

TEST(Verifier, Cycle) {
  EXPECT_EQ(VerifyText("graph g(%a: f32[2]) {\n  %b = f32[2] add(%a, %d)\n"
                       "  %c = f32[2] neg(%b)\n  %d = f32[2] neg(%c)\n  return %d\n}"),
            "cycle: %b -> %c -> %d -> %b in: %b = f32[2] add(%a, %d)");
  EXPECT_EQ(VerifyText("graph g(%a: f32[2]) {\n  %b = f32[2] add(%a, %b)\n  return %b\n}"),
            "cycle: %b -> %b in: %b = f32[2] add(%a, %b)");
}

TEST(Verifier, DuplicateNames) {
  ir::Graph g;
  ir::ValueId a = g.AddInput("a", ir::F32({2}));
  g.AddValueNode(ir::Op::kNeg, {a}, {}, "x", ir::F32({2}));
  g.AddValueNode(ir::Op::kExp, {a}, {}, "x", ir::F32({2}));
  EXPECT_EQ(ir::Verify(g).message(), "duplicate name %x in: %x = f32[2] exp(%a)");
}

TEST(Verifier, InvalidNameAndDanglingOperand) {
  ir::Graph g;
  ir::ValueId a = g.AddInput("a", ir::F32({2}));
  g.AddValueNode(ir::Op::kNeg, {a}, {}, "bad name", ir::F32({2}));
  EXPECT_EQ(ir::Verify(g).message(),
            "invalid value name 'bad name' (use letters, digits, '_' and '.') in: "
            "%bad name = f32[2] neg(%a)");
  ir::Graph h;
  h.AddValueNode(ir::Op::kNeg, {7}, {}, "y", ir::F32({2}));
  EXPECT_EQ(ir::Verify(h).message(),
            "neg: operand 0 refers to no value in: %y = f32[2] neg(%<bad value id 7>)");
}

}  // namespace
}  // namespace gptc
