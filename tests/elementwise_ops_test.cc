// Every op of the unary, binary and ternary families, found by walking ops.def (a new row is tested
// without being named here, except for its input domain below):
// - its gradient against central finite differences, in float64 on the interpreter, with the
//   tolerance of gradcheck_test.cc (a wrong rule is off by O(1));
// - its compiled kernel against the interpreter, on sizes that are not a multiple of the
//   vector width, to 1e-5 relative (float32 against float64).
#include <string>
#include <vector>

#include "frontend/builder.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/grad_rules.h"
#include "tests/gradcheck.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

using P = const std::vector<Tensor>&;

// Where an op is tested: all reals, or (for log, sqrt, ...) [0.5, 1.5); and the value of its
// float attribute, if it has one.
struct Domain {
  bool positive = false;
  double attr = 0;
  bool finite_differences = true;  // false: its gradient is zero by definition
};

Domain UnaryDomain(ir::UnaryOp op) {
  using U = ir::UnaryOp;
  switch (op) {
    case U::kScale:
      return {false, -0.7};
    case U::kLog:
    case U::kSqrt:
    case U::kRsqrt:
      return {true, 0};
    case U::kPow:  // a fractional power (small integer ones: PowOfSmallIntegersOnAllReals)
      return {true, 1.5};
    case U::kStopGradient:  // StopGradientBlocksOnlyItsOperand
      return {false, 0, false};
    case U::kSin:
    case U::kCos:
    case U::kSigmoid:
    case U::kSilu:
    case U::kNeg:
    case U::kExp:
    case U::kTanh:
    case U::kGelu:
    case U::kGeluErf:
    case U::kStep:  // zero gradient away from 0, where random inputs never land
      return {};
  }
  return {};
}

Domain BinaryDomain(ir::BinaryOp op) {
  using B = ir::BinaryOp;
  switch (op) {
    case B::kDiv:
      return {true, 0};
    case B::kAdd:
    case B::kSub:
    case B::kMul:
    case B::kMinimum:
    case B::kMaximum:
    case B::kGeluGrad:
    case B::kGeluErfGrad:
      return {};
  }
  return {};
}

std::vector<ir::Op> OpsOf(ir::Family family) {
  std::vector<ir::Op> ops;
  for (int i = 0; i < ir::NumOps(); ++i)
    if (ir::FamilyOf(static_cast<ir::Op>(i)) == family) ops.push_back(static_cast<ir::Op>(i));
  return ops;
}

Tensor ApplyUnary(Builder& b, ir::Op op, Tensor x) {
  ir::Attrs attrs;
  if (const char* attr = ir::GetOpInfo(op).attr)
    attrs.Set(attr, UnaryDomain(ir::As<ir::UnaryOp>(op)).attr);
  return b.Apply(op, {x}, attrs);
}

TEST(ElementwiseOps, EveryUnaryGradientMatchesFiniteDifferences) {
  for (ir::Op op : OpsOf(ir::Family::kUnary)) {
    SCOPED_TRACE(ir::OpName(op));
    ASSERT_NE(passes::FindGradRule(op), nullptr);
    const Domain d = UnaryDomain(ir::As<ir::UnaryOp>(op));
    if (!d.finite_differences) continue;
    for (ir::Shape s : {ir::Shape{2, 3}, ir::Shape{1, 5}}) {
      auto r = testing::GradCheck([&](Builder& b, P p) { return ApplyUnary(b, op, p[0]); }, {s}, 1,
                                  d.positive);
      EXPECT_GT(r.elements, 0);
      EXPECT_LT(r.max_rel_err, 1e-6) << "worst: " << r.worst;
    }
  }
}

TEST(ElementwiseOps, EveryBinaryGradientMatchesFiniteDifferences) {
  for (ir::Op op : OpsOf(ir::Family::kBinary)) {
    SCOPED_TRACE(ir::OpName(op));
    if (op == ir::Op::kGeluGrad || op == ir::Op::kGeluErfGrad) continue;  // backward ops
    ASSERT_NE(passes::FindGradRule(op), nullptr);
    const Domain d = BinaryDomain(ir::As<ir::BinaryOp>(op));
    for (ir::Shape s : {ir::Shape{3, 4}, ir::Shape{1, 5}, ir::Shape{2, 1, 3}}) {
      auto r = testing::GradCheck(
          [&](Builder& b, P p) {
            return b.Apply(op, {p[0], p[1]});
          },
          {s, s}, 2, d.positive);
      EXPECT_GT(r.elements, 0);
      EXPECT_LT(r.max_rel_err, 1e-6) << "worst: " << r.worst;
    }
  }
}

// select(c, a, b): a's and b's gradients by finite differences (c's is zero both ways: random
// conditions never land on 0); on [0.5, 1.5) every condition picks a, on all reals both.
TEST(ElementwiseOps, EveryTernaryGradientMatchesFiniteDifferences) {
  for (ir::Op op : OpsOf(ir::Family::kTernary)) {
    SCOPED_TRACE(ir::OpName(op));
    ASSERT_NE(passes::FindGradRule(op), nullptr);
    for (bool positive : {false, true}) {
      auto r = testing::GradCheck(
          [&](Builder& b, P p) {
            return b.Apply(op, {p[0], p[1], p[2]});
          },
          {{3, 4}, {3, 4}, {3, 4}}, 4, positive);
      EXPECT_EQ(r.elements, 36);
      EXPECT_LT(r.max_rel_err, 1e-6) << "worst: " << r.worst;
    }
  }
}

void ExpectKernelMatches(ir::Op op, bool positive) {
  for (int64_t n : {int64_t{1}, int64_t{37}, int64_t{3 * 1001}}) {
    SCOPED_TRACE(n);
    Builder b("elementwise");
    const int arity = ir::GetOpInfo(op).arity;
    std::vector<Tensor> in;
    for (int i = 0; i < arity; ++i)
      in.push_back(b.Input(std::string(1, static_cast<char>('a' + i)), ir::F32({n})));
    Tensor y = arity == 1 ? ApplyUnary(b, op, in[0]) : b.Apply(op, in);
    auto g = b.Finish({y.named("y")});
    ASSERT_TRUE(g.ok()) << g.status();
    ASSERT_TRUE(ir::Verify(*g).ok());
    testing::Mismatch m =
        testing::CompareWithInterpreter(*g, testing::RandomArgs(*g, 5, 1, positive));
    EXPECT_LE(m.worst_rel, 1e-5) << "worst at " << m.where;
  }
}

TEST(ElementwiseOps, EveryUnaryKernelMatchesTheInterpreter) {
  for (ir::Op op : OpsOf(ir::Family::kUnary)) {
    SCOPED_TRACE(ir::OpName(op));
    ExpectKernelMatches(op, UnaryDomain(ir::As<ir::UnaryOp>(op)).positive);
  }
}

TEST(ElementwiseOps, EveryBinaryKernelMatchesTheInterpreter) {
  for (ir::Op op : OpsOf(ir::Family::kBinary)) {
    SCOPED_TRACE(ir::OpName(op));
    ExpectKernelMatches(op, BinaryDomain(ir::As<ir::BinaryOp>(op)).positive);
  }
}

TEST(ElementwiseOps, EveryTernaryKernelMatchesTheInterpreter) {
  for (ir::Op op : OpsOf(ir::Family::kTernary)) {
    SCOPED_TRACE(ir::OpName(op));
    ExpectKernelMatches(op, false);
  }
}

// select with a mask made by step, broadcast from [3, 1] and [4]: a ReLU-like choice whose
// values are checked against the rule itself, and whose operands broadcast by numpy's rule.
TEST(ElementwiseOps, SelectPicksByTheConditionAndBroadcasts) {
  Builder b("select");
  Tensor c = b.Input("c", ir::F32({3, 1}));
  Tensor x = b.Input("x", ir::F32({4}));
  Tensor y = b.Input("y", ir::F32({3, 4}));
  auto g = b.Finish({Select(Step(c), x, y).named("out")});
  ASSERT_TRUE(g.ok()) << g.status();
  ir::LiteralMap args = testing::RandomArgs(*g, 3, 1);
  auto out = ir::Interpret(*g, args);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ((*out)[0].shape(), (ir::Shape{3, 4}));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_FLOAT_EQ((*out)[0].data[i * 4 + j], args.at("c").data[i] >= 0
                                                     ? args.at("x").data[j]
                                                     : args.at("y").data[i * 4 + j]);
  testing::Mismatch m = testing::CompareWithInterpreter(*g, args);
  EXPECT_EQ(m.worst_rel, 0) << "worst at " << m.where;
  Builder bad("bad");
  (void)Select(bad.Input("c", ir::F32({2})), bad.Input("a", ir::F32({3})),
               bad.Input("b", ir::F32({3})));
  EXPECT_EQ(
      bad.status().message(),
      "select: %c f32[2], %a f32[3] and %b f32[3] do not broadcast (numpy's rule: equal, or 1)");
}

// d/dx sum(x * stop_gradient(x)^2) is stop_gradient(x)^2 = x^2, not 3 x^2: the gradient
// reaches x through the first factor only.
TEST(ElementwiseOps, StopGradientBlocksOnlyItsOperand) {
  Builder b("sg");
  Tensor x = b.Param("x", ir::F32({2, 3}), ParamInit::Zeros());
  Tensor s = StopGradient(x);
  Tensor loss = Sum(Reshape(x * s * s, {-1}), 0).named("loss");
  auto fwd = b.Finish({loss});
  ASSERT_TRUE(fwd.ok()) << fwd.status();
  auto g = passes::Autodiff(*fwd);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(ir::Verify(*g).ok());
  ir::Literal xv(ir::F32({2, 3}));
  for (int i = 0; i < 6; ++i) xv.data[i] = 0.5 * i - 1.2;
  auto out = ir::Interpret(*g, {{"x", xv}}, {ir::Precision::kF64});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ((*out)[1].data[i], xv.data[i] * xv.data[i]) << i;
}

// iota against the index it names, on the interpreter and the JIT, f32 and i32, inner and
// outer axes; a bad axis is named.
TEST(ElementwiseOps, IotaCountsAlongItsAxis) {
  struct Case {
    ir::TensorType type;
    int axis;
  };
  for (const Case& k :
       {Case{ir::F32({3, 5, 7}), 1}, Case{ir::I32({4, 6}), 0}, Case{ir::F32({37}), -1}}) {
    SCOPED_TRACE(ir::TypeToString(k.type));
    Builder b("iota");
    Tensor x = b.Iota(k.type, k.axis).named("y");
    auto g = b.Finish({x});
    ASSERT_TRUE(g.ok()) << g.status();
    auto out = ir::Interpret(*g, {});
    ASSERT_TRUE(out.ok()) << out.status();
    const ir::Shape& s = k.type.shape;
    const int axis = k.axis < 0 ? k.axis + static_cast<int>(s.size()) : k.axis;
    std::vector<int64_t> idx(s.size(), 0);
    for (int64_t i = 0; i < (*out)[0].size(); ++i) {
      EXPECT_EQ((*out)[0].data[i], static_cast<double>(idx[axis])) << i;
      for (int d = static_cast<int>(s.size()) - 1; d >= 0 && ++idx[d] == s[d]; --d) idx[d] = 0;
    }
    testing::Mismatch m = testing::CompareWithInterpreter(*g, {});
    EXPECT_EQ(m.worst_rel, 0) << "worst at " << m.where;
  }
  Builder b("bad");
  (void)b.Iota(ir::F32({2, 3}), 2);
  EXPECT_EQ(b.status().message(), "iota: axis 2 is out of range for f32[2,3]");
}

// pow by a small integer is a product in the kernel, defined for negative x too.
TEST(ElementwiseOps, PowOfSmallIntegersOnAllReals) {
  for (double p : {2.0, 3.0, -2.0, 0.0}) {
    SCOPED_TRACE(p);
    auto r = testing::GradCheck([&](Builder&, P x) { return Pow(x[0], p); }, {{2, 3}}, 3);
    EXPECT_LT(r.max_rel_err, 1e-6) << "worst: " << r.worst;
    Builder b("pow");
    Tensor x = b.Input("x", ir::F32({37}));
    auto g = b.Finish({Pow(x, p).named("y")});
    ASSERT_TRUE(g.ok()) << g.status();
    testing::Mismatch m = testing::CompareWithInterpreter(*g, testing::RandomArgs(*g, 9, 1));
    EXPECT_LE(m.worst_rel, 1e-5) << "worst at " << m.where;
  }
}

}  // namespace
}  // namespace gptc
