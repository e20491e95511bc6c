// gather (numpy's take along an axis) and its gradient: values against the definition,
// the gradient (a scatter-add, repeated indices summing) against finite differences, both
// kernels against the interpreter on every axis, and bad indices and axes named.
#include <vector>

#include "frontend/builder.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "runtime/executable.h"
#include "runtime/state_store.h"
#include "tests/gradcheck.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

ir::Literal Indices(ir::Shape shape, std::vector<double> values) {
  ir::Literal l(ir::I32(std::move(shape)));
  l.data = std::move(values);
  return l;
}

TEST(Gather, TakesTheRowsTheIndicesPick) {
  Builder b("take");
  Tensor x = b.Input("x", ir::F32({2, 5, 3}));
  Tensor idx = b.Input("idx", ir::I32({2, 2}));
  auto g = b.Finish({Gather(x, idx, 1).named("y")});
  ASSERT_TRUE(g.ok()) << g.status();
  ir::LiteralMap args = testing::RandomArgs(*g, 1, 5);
  args["idx"] = Indices({2, 2}, {4, 0, 4, 2});
  auto out = ir::Interpret(*g, args);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ((*out)[0].shape(), (ir::Shape{2, 2, 2, 3}));
  const ir::Literal& xv = args.at("x");
  for (int a = 0; a < 2; ++a)
    for (int j = 0; j < 4; ++j)
      for (int c = 0; c < 3; ++c)
        EXPECT_FLOAT_EQ((*out)[0].data[(a * 4 + j) * 3 + c],
                        xv.data[(a * 5 + static_cast<int>(args["idx"].data[j])) * 3 + c]);
}

TEST(Gather, GradientAddsBackIntoThePickedRows) {
  for (int axis : {0, 1, 2}) {
    SCOPED_TRACE(axis);
    const ir::Shape xs = {4, 3, 5};
    // Indices with a repeat (their gradients add) and a row never picked (zero gradient).
    ir::LiteralMap extra = {{"idx", Indices({3}, {2, 0, 2})}};
    auto r = testing::GradCheck(
        [&](Builder& b, const std::vector<Tensor>& p) {
          return Gather(p[0], b.Input("idx", ir::I32({3})), axis);
        },
        {xs}, 7, false, extra);
    EXPECT_EQ(r.elements, 60);
    EXPECT_LT(r.max_rel_err, 1e-6) << "worst: " << r.worst;
  }
}

TEST(Gather, KernelsMatchTheInterpreterOnEveryAxis) {
  for (int axis : {0, 1, 2}) {
    SCOPED_TRACE(axis);
    Builder b("gather");
    Tensor x = b.Param("x", ir::F32({6, 37, 19}), ParamInit::Zeros());
    Tensor idx = b.Input("idx", ir::I32({5, 4}));
    Tensor y = Gather(x, idx, axis);
    Tensor loss = Sum(Reshape(y * y, {-1}), 0).named("loss");
    auto fwd = b.Finish({loss, y.named("y")});
    ASSERT_TRUE(fwd.ok()) << fwd.status();
    auto g = passes::Autodiff(*fwd);  // adds gather_grad
    ASSERT_TRUE(g.ok()) << g.status();
    ASSERT_TRUE(ir::Verify(*g).ok());
    testing::Mismatch m = testing::CompareWithInterpreter(*g, testing::RandomArgs(*g, 2, 6));
    EXPECT_LE(m.worst_rel, 1e-5) << "worst at " << m.where;
  }
}

TEST(Gather, BadIndicesAndAxesAreNamed) {
  Builder b("bad");
  Tensor x = b.Input("x", ir::F32({4, 3}));
  (void)Gather(x, b.Input("idx", ir::I32({2})), 2);
  EXPECT_EQ(b.status().message(), "gather: axis 2 is out of range for %x: f32[4,3]");
  Builder f("float_indices");
  (void)Gather(f.Input("x", ir::F32({4, 3})), f.Input("idx", ir::F32({2})), 0);
  EXPECT_NE(f.status().message().find("gather: indices must be i32, got f32[2]"), std::string::npos)
      << f.status();
  Builder ok("range");
  auto g = ok.Finish(
      {Gather(ok.Input("x", ir::F32({4, 3})), ok.Input("idx", ir::I32({2})), 0).named("y")});
  ASSERT_TRUE(g.ok()) << g.status();
  ir::LiteralMap args = testing::RandomArgs(*g, 1, 4);
  args["idx"] = Indices({2}, {1, 4});
  auto out = ir::Interpret(*g, args);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("gather: index 4 at flat position 1 is outside [0,4)"),
            std::string::npos)
      << out.status();
}

// The compiled kernel clamps an index; the executable refuses a bad one before running.
TEST(Gather, TheExecutableRefusesIndicesOutsideTheAxis) {
  Builder b("take");
  Tensor x = b.Param("x", ir::F32({3, 4}), ParamInit::Zeros());
  auto g = b.Finish({Gather(x, b.Input("idx", ir::I32({2})), 1).named("y")});
  ASSERT_TRUE(g.ok()) << g.status();
  StateStore store;
  auto ex = Executable::Create(*g, testing::SharedCompiler(), store);
  ASSERT_TRUE(ex.ok()) << ex.status();
  EXPECT_TRUE((*ex)->SetInput("idx", Indices({2}, {3, 0})).ok());
  EXPECT_EQ((*ex)->SetInput("idx", Indices({2}, {0, 4})).message(),
            "input %idx: id 4 at flat position 1 is outside [0,4)");
}

}  // namespace
}  // namespace gptc
