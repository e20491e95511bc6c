// The fuse pass's rows groups (ir/fusion_layout.h): an RMSNorm and a softmax written from
// primitives, forward and backward, each become one kernel with no named pattern; the fused
// gradient graph means what the unfused one does (on the interpreter, in float64), and the
// JIT's rows kernels compute what the interpreter does.
#include <string>
#include <vector>

#include "frontend/builder.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/fusion_layout.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/fuse.h"
#include "passes/train_graphs.h"
#include "runtime/executable.h"
#include "runtime/state_store.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

Tensor RmsNorm(Builder& b, Tensor x, const std::string& name) {
  const int64_t c = x.dim(x.rank() - 1);
  Tensor w = b.Param(name + ".w", ir::F32({c}), ParamInit::Normal(1.0));
  Tensor ms = Expand(Mean(x * x, -1), -1, c);
  return x * Rsqrt(ms + b.Constant(1e-5, ms.type())) * w;
}

Tensor SoftmaxOfPrimitives(Tensor x) {
  const int64_t c = x.dim(x.rank() - 1);
  Tensor e = Exp(x - Expand(Max(x, -1), -1, c));
  return e / Expand(Sum(e, -1), -1, c);
}

// loss = sum(out^2 r) for a fixed random r, differentiated; with `matmul`, out = f(x) W.
ir::Graph Gradients(const std::function<Tensor(Builder&, Tensor)>& f, ir::Shape shape,
                    bool matmul = false) {
  Builder b("rows");
  Tensor x = b.Param("x", ir::F32(shape), ParamInit::Normal(1.0));
  Tensor y = f(b, x);
  if (matmul) {
    const int64_t c = shape.back();
    y = MatMul(y, b.Param("W", ir::F32({c, c}), ParamInit::Normal(0.3))).named("out");
  }
  Tensor r = b.Input("r", y.type());
  Tensor loss = Sum(Reshape(y * y * r, {-1}), 0).named("loss");
  auto fwd = b.Finish({loss});
  EXPECT_TRUE(fwd.ok()) << fwd.status();
  auto g = passes::Autodiff(*fwd);
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

bool IsRowsKernel(const ir::Graph& g, ir::ValueId v) {
  const ir::Node& n = g.node(g.value(v).producer);
  if (n.op != ir::Op::kFusion) return false;
  auto l = ir::LayOutFusion(*n.body);
  return l.ok() && l->kind == ir::FusionLayout::Kind::kRows;
}

// The norm (or softmax) between x and the matmul is one rows kernel reading only
// declarations, and so is x's gradient, reading only declarations, matmul gradients and
// what the forward kernel wrote; the same kernel gives the gradient of `weight`, if named.
void ExpectOneKernelEachWay(const ir::Graph& fused, const std::string& weight = "") {
  const ir::Node& mm = fused.node(fused.value(*fused.FindValue("out")).producer);
  ASSERT_EQ(mm.op, ir::Op::kMatMul);
  const ir::ValueId y = mm.inputs[0];
  ASSERT_TRUE(IsRowsKernel(fused, y)) << ir::PrintNode(fused, fused.value(y).producer);
  for (ir::ValueId in : fused.node(fused.value(y).producer).inputs)
    EXPECT_TRUE(ir::HasTrait(fused.node(fused.value(in).producer).op, ir::kDecl))
        << "%" << fused.value(in).name;
  const ir::ValueId dx = *fused.FindValue("grad.x");
  ASSERT_TRUE(IsRowsKernel(fused, dx)) << ir::PrintNode(fused, fused.value(dx).producer);
  for (ir::ValueId in : fused.node(fused.value(dx).producer).inputs) {
    const ir::Node& p = fused.node(fused.value(in).producer);
    EXPECT_TRUE(ir::HasTrait(p.op, ir::kDecl) || p.op == ir::Op::kMatMul ||
                fused.value(in).producer == fused.value(y).producer)
        << "%" << fused.value(in).name << " comes from " << ir::OpName(p.op);
  }
  if (!weight.empty()) {
    EXPECT_EQ(fused.value(*fused.FindValue("grad." + weight)).producer, fused.value(dx).producer)
        << ir::PrintGraph(fused);
  }
}

void ExpectSameMeaning(const ir::Graph& unfused, const ir::Graph& fused) {
  ir::LiteralMap args = testing::RandomArgs(unfused, 3, 1);
  auto a = ir::Interpret(unfused, args, {ir::Precision::kF64});
  auto b = ir::Interpret(fused, args, {ir::Precision::kF64});
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i)
    for (int64_t k = 0; k < (*a)[i].size(); ++k)
      ASSERT_NEAR((*a)[i].data[k], (*b)[i].data[k], 1e-9 * (1 + std::abs((*a)[i].data[k])))
          << "result " << i << " element " << k;
  testing::Mismatch m = testing::CompareWithInterpreter(fused, args);
  EXPECT_LE(m.worst_rel, 1e-5) << "worst at " << m.where;
}

// The weight's gradient is summed per parallel block of rows: 10 and 3 rows make one block;
// 531 rows of 64 make 17 blocks of 33 rows, the last one 3 rows short.
TEST(RowsFusion, RmsNormOfPrimitivesIsOneKernelEachWay) {
  for (ir::Shape s : {ir::Shape{2, 5, 24}, ir::Shape{3, 67}, ir::Shape{531, 64}}) {
    SCOPED_TRACE(ir::ShapeToString(s));
    ir::Graph g = Gradients([](Builder& b, Tensor x) { return RmsNorm(b, x, "n"); }, s, true);
    auto fused = passes::Fuse(g);
    ASSERT_TRUE(fused.ok()) << fused.status();
    ASSERT_TRUE(ir::Verify(*fused).ok()) << ir::Verify(*fused);
    ExpectOneKernelEachWay(*fused, "n.w");
    ExpectSameMeaning(g, *fused);
  }
}

TEST(RowsFusion, ResidualRmsNormBlockMatchesUnfused) {
  ir::Graph g = Gradients(
      [](Builder& b, Tensor x) {
        Tensor w = b.Param("lin", ir::F32({24, 24}), ParamInit::Normal(0.2));
        Tensor h = x + MatMul(RmsNorm(b, x, "n1"), w);
        return h + MatMul(Silu(RmsNorm(b, h, "n2")), w);
      },
      {2, 5, 24});
  auto fused = passes::Fuse(g);
  ASSERT_TRUE(fused.ok()) << fused.status();
  ASSERT_TRUE(ir::Verify(*fused).ok()) << ir::Verify(*fused);
  ExpectSameMeaning(g, *fused);
}

TEST(RowsFusion, SoftmaxOfPrimitivesIsOneKernelEachWay) {
  ir::Graph g =
      Gradients([](Builder&, Tensor x) { return SoftmaxOfPrimitives(x); }, {4, 3, 37}, true);
  auto fused = passes::Fuse(g);
  ASSERT_TRUE(fused.ok()) << fused.status();
  ASSERT_TRUE(ir::Verify(*fused).ok()) << ir::Verify(*fused);
  ExpectOneKernelEachWay(*fused);
  ExpectSameMeaning(g, *fused);
}

// A train step of residual RMSNorm blocks, planned (rows kernels may write over an operand
// that dies there) and unplanned, on the JIT: the same losses. At this size the rows kernels
// run in parallel blocks; a rows kernel with several results once wrote in place wrongly.
TEST(RowsFusion, PlannedTrainStepEqualsUnplanned) {
  Builder b("block");
  Tensor table = b.Param("table", ir::F32({65, 128}), ParamInit::Normal(1.0));
  Tensor pos = b.Param("pos", ir::F32({64, 128}), ParamInit::Normal(1.0));
  Tensor x = Embedding(table, b.Input("ids", ir::I32({12, 64}))) + pos;  // pos broadcasts
  Tensor w = b.Param("lin", ir::F32({128, 128}), ParamInit::Normal(0.05));
  Tensor h = x + MatMul(RmsNorm(b, x, "n1"), w);
  h = h + MatMul(Silu(RmsNorm(b, h, "n2")), w);
  Tensor r = b.Input("r", h.type());
  auto fwd = b.Finish({Sum(Reshape(h * r, {-1}), 0).named("loss")});
  ASSERT_TRUE(fwd.ok()) << fwd.status();
  std::vector<double> losses[2];
  for (bool plan : {false, true}) {
    passes::StepOptions o;
    o.plan = plan;
    auto t = passes::BuildTrainStep(*fwd, o);
    ASSERT_TRUE(t.ok()) << t.status();
    ir::LiteralMap args = testing::RandomArgs(*t, 5, 65);
    for (ir::ValueId v : t->States()) args[t->value(v).name] = ir::Literal(t->value(v).type);
    args["lr"] = ir::Literal(ir::F32({}), {1e-2});
    StateStore st;
    auto ex = Executable::Create(*t, testing::SharedCompiler(), st);
    ASSERT_TRUE(ex.ok()) << ex.status();
    for (const auto& [name, lit] : args)
      if (st.Find(name)) {
        ASSERT_TRUE(st.Set(name, lit).ok());
      }
    for (const char* in : {"r", "lr", "ids"}) ASSERT_TRUE((*ex)->SetInput(in, args[in]).ok());
    for (int step = 1; step <= 3; ++step) {
      ASSERT_TRUE((*ex)->SetInput("step", ir::Literal(ir::F32({}), {double(step)})).ok());
      auto out = (*ex)->Run();
      ASSERT_TRUE(out.ok()) << out.status();
      losses[plan].push_back((*out)[0].data[0]);
    }
  }
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(losses[0][i], losses[1][i], 1e-5 * std::abs(losses[0][i])) << "step " << i + 1;
}

}  // namespace
}  // namespace gptc
