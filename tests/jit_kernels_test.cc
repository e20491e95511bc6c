// Every kernel against the interpreter on random inputs, including sizes that are not
// multiples of the vector width or the GEMM tile. Tolerance, relative to max(1, max|want|)
// per value: 1e-5 for elementwise and data movement, 1e-4 for reductions and GEMM (their
// float32 sums run in a different order than the interpreter's float64 ones).
#include "absl/strings/str_join.h"
#include "codegen/kernel_spec.h"
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/param_init.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/plan_check.h"
#include "ir/verifier.h"
#include "passes/plan.h"
#include "passes/train_graphs.h"
#include "runtime/executable.h"
#include "tests/jit_test_util.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

ir::Graph Parse(const std::string& text) {
  auto g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(ir::Verify(*g).ok()) << ir::Verify(*g);
  return *g;
}

void ExpectClose(const ir::Graph& g, double tol, int64_t int_limit = 5, bool positive = false) {
  testing::Mismatch m =
      testing::CompareWithInterpreter(g, testing::RandomArgs(g, 11, int_limit, positive));
  EXPECT_LE(m.worst_rel, tol) << "worst at " << m.where;
}

TEST(JitKernels, EveryOpOfTheAllOpsGraph) {
  ExpectClose(testing::AllOpsGraph(), 1e-4, /*int_limit=*/2);
}

TEST(JitKernels, ElementwiseOddSizes) {
  for (int n : {1, 7, 1001, 40000}) {
    SCOPED_TRACE(n);
    const std::string t = "f32[" + std::to_string(n) + "]";
    ExpectClose(Parse("graph g(%a: " + t + ", %b: " + t +
                      ") {\n"
                      "  %c = " +
                      t + " mul(%a, %b)\n  %d = " + t +
                      " gelu(%c)\n"
                      "  %e = " +
                      t + " gelu_grad(%d, %a)\n  %f = " + t +
                      " div(%e, %b)\n"
                      "  %g = " +
                      t + " minimum(%f, %a)\n  %h = " + t +
                      " tanh(%g)\n"
                      "  %i = " +
                      t + " scale(%h) factor=0.3\n  %j = " + t +
                      " sqrt(%b)\n"
                      "  %k = " +
                      t + " log(%j)\n  %l = " + t + " exp(%k)\n  %m = " + t +
                      " step(%i)\n"
                      "  %n = " +
                      t + " sub(%l, %m)\n  %o = " + t +
                      " neg(%n)\n"
                      "  return %o\n}"),
                1e-5, 5, /*positive=*/true);
  }
}

// One matmul: operand and result types, attributes.
struct MatMulCase {
  const char* a;
  const char* b;
  const char* c;
  const char* attrs;
};

ir::Graph MatMulGraph(const MatMulCase& c) {
  return Parse(std::string("graph g(%a: ") + c.a + ", %b: " + c.b + ") {\n  %c = " + c.c +
               " matmul(%a, %b) " + c.attrs + "\n  return %c\n}");
}

TEST(JitKernels, MatMulFormsAndOddShapes) {
  const MatMulCase cases[] = {
      {"f32[37,29]", "f32[29,19]", "f32[37,19]", ""},
      {"f32[3,37,29]", "f32[19,29]", "f32[3,37,19]", "transpose_b=true"},
      {"f32[29,37]", "f32[29,19]", "f32[37,19]", "transpose_a=true"},
      {"f32[5,7,13]", "f32[5,11,7]", "f32[5,13,11]", "transpose_a=true transpose_b=true"},
      {"f32[4,2,5,3]", "f32[4,2,3,17]", "f32[4,2,5,17]", ""},
      {"f32[2,64,128]", "f32[384,128]", "f32[2,64,384]", "transpose_b=true"},
      {"f32[768,128]", "f32[768,512]", "f32[128,512]", "transpose_a=true"},
      {"f32[1,1]", "f32[1,3]", "f32[1,3]", ""},
      {"f32[3,5,7]", "f32[7,2]", "f32[3,5,2]", ""},
      {"f32[3,7,5]", "f32[7,6]", "f32[3,5,6]", "transpose_a=true"},
  };
  for (const MatMulCase& c : cases) {
    SCOPED_TRACE(std::string(c.a) + " x " + c.b + " " + c.attrs);
    ExpectClose(MatMulGraph(c), 1e-4);
  }
}

// GEMMs large enough to be tuned: every schedule candidate (loop nest and register tile,
// including the K-blocked and row-blocked nests) against the interpreter, at sizes that are
// not multiples of any tile, block or chunk.
TEST(JitKernels, MatMulEveryScheduleCandidate) {
  const MatMulCase cases[] = {
      {"f32[203,300]", "f32[300,83]", "f32[203,83]", ""},
      {"f32[600,77]", "f32[600,50]", "f32[77,50]", "transpose_a=true"},
      {"f32[400,80]", "f32[70,80]", "f32[400,70]", "transpose_b=true"},
      {"f32[5,70,70]", "f32[5,90,70]", "f32[5,70,90]", "transpose_b=true"},
      {"f32[2,530,60]", "f32[2,530,50]", "f32[2,60,50]", "transpose_a=true"},
  };
  for (const MatMulCase& c : cases) {
    SCOPED_TRACE(std::string(c.a) + " x " + c.b + " " + c.attrs);
    ir::Graph g = MatMulGraph(c);
    testing::ExpectEveryVariantClose(g, 1e-4);
  }
}

// The schedule names a GEMM's candidates have (each variant built alone).
std::vector<std::string> CandidateNames(const ir::Graph& g) {
  const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(g, g.nodes().back());
  auto variants = testing::SharedCompiler().NumVariants(spec);
  EXPECT_TRUE(variants.ok()) << variants.status();
  std::vector<std::string> names;
  for (int v = 0; variants.ok() && v < *variants; ++v) {
    auto kernel = testing::SharedCompiler().Build(spec, v);
    EXPECT_TRUE(kernel.ok()) << kernel.status();
    if (kernel.ok()) names.push_back((*kernel)->schedule);
  }
  return names;
}

// Long reductions get the packed nest (Goto's panels) among their candidates, in A^T B and
// A B; a transposed B (read across its rows) and a short reduction do not.
// MatMulEveryScheduleCandidate checks its results, edge panels included.
TEST(JitKernels, LongReductionsHavePackedCandidates) {
  auto packed = [](const std::vector<std::string>& names) {
    int count = 0;
    for (const std::string& n : names) count += n.find("packed") != std::string::npos;
    return count;
  };
  const std::vector<std::string> at_b =
      CandidateNames(MatMulGraph({"f32[600,77]", "f32[600,50]", "f32[77,50]", "transpose_a=true"}));
  EXPECT_EQ(packed(at_b), 2) << absl::StrJoin(at_b, ", ");  // one per register tile
  EXPECT_EQ(packed(CandidateNames(MatMulGraph({"f32[70,600]", "f32[600,50]", "f32[70,50]", ""}))),
            2);
  EXPECT_EQ(packed(CandidateNames(
                MatMulGraph({"f32[70,600]", "f32[50,600]", "f32[70,50]", "transpose_b=true"}))),
            0);
  EXPECT_EQ(packed(CandidateNames(MatMulGraph({"f32[203,300]", "f32[300,83]", "f32[203,83]", ""}))),
            0);
}

TEST(JitKernels, NormalisationSoftmaxAndLossOddShapes) {
  ExpectClose(
      Parse("graph g(%x: f32[7,37], %w: f32[37], %b: f32[37], %dy: f32[7,37]) {\n"
            "  %y = f32[7,37] layernorm(%x, %w, %b) eps=1e-05\n"
            "  %dx, %dw, %db = f32[7,37], f32[37], f32[37] layernorm_grad(%x, %w, %dy) eps=1e-05\n"
            "  return %y, %dx, %dw, %db\n}"),
      1e-4);
  ExpectClose(
      Parse("graph g(%x: f32[2,3,13,13], %dy: f32[2,3,13,13], %z: f32[5,21]) {\n"
            "  %xm = f32[2,3,13,13] causal_mask(%x) fill=-inf\n"
            "  %y = f32[2,3,13,13] softmax(%xm)\n"
            "  %dx = f32[2,3,13,13] softmax_grad(%y, %dy)\n"
            "  %dm = f32[2,3,13,13] causal_mask(%dx) fill=0.0\n"
            "  %p = f32[5,21] softmax(%z)\n  %q = f32[3,21] slice(%p) axis=0 start=1 end=4\n"
            "  return %y, %dm, %q\n}"),
      1e-4);
}

TEST(JitKernels, CrossEntropyAndItsGradient) {
  ExpectClose(Parse("graph g(%l: f32[3,5,11], %t: i32[3,5], %d: f32[]) {\n"
                    "  %p = f32[3,5,11] softmax(%l)\n"
                    "  %loss = f32[] xent(%p, %t)\n"
                    "  %dp = f32[3,5,11] xent_grad(%p, %t, %d)\n  return %loss, %dp\n}"),
              1e-4, /*int_limit=*/11);
}

TEST(JitKernels, LayoutReductionsAndEmbeddingOddShapes) {
  ExpectClose(Parse("graph g(%x: f32[3,5,2,9], %v: f32[9], %ids: i32[4,7], %tab: f32[5,37], %dy: "
                    "f32[4,7,37]) {\n"
                    "  %t = f32[3,2,5,9] transpose(%x) perm=[0,2,1,3]\n"
                    "  %u = f32[9,3,5,2] transpose(%x) perm=[3,0,1,2]\n"
                    "  %s = f32[3,5,2,4] slice(%x) axis=3 start=2 end=6\n"
                    "  %c = f32[3,5,2,13] concat(%x, %s) axis=3\n"
                    "  %b = f32[6,9] broadcast(%v) shape=[6,9]\n"
                    "  %e = f32[3,4,5,2,9] expand(%x) axis=1 size=4\n"
                    "  %s0 = f32[5,2,9] sum(%x) axis=0\n  %s3 = f32[3,5,2] mean(%x) axis=3\n"
                    "  %m1 = f32[3,2,9] max(%x) axis=1\n"
                    "  %emb = f32[4,7,37] embedding(%tab, %ids)\n"
                    "  %dt = f32[5,37] embedding_grad(%ids, %dy) rows=5\n"
                    "  %r = f32[3,5,18] reshape(%x) shape=[3,5,18]\n"
                    "  %rr = f32[3,5,18] scale(%r) factor=2.0\n"
                    "  return %t, %u, %c, %b, %e, %s0, %s3, %m1, %emb, %dt, %rr\n}"),
              1e-5);
}

// The GEMM with its bias added in the write-out (matmul_bias), for every schedule candidate
// of every form (x W^T with the batch folded into the rows, A^T B with its swapped
// candidates, A B).
TEST(JitKernels, MatMulBiasEveryScheduleCandidate) {
  struct Case {
    const char* a;
    const char* b;
    const char* c;
    const char* dims;  // the result's shape, for the broadcast
    int n;
    const char* attrs;
  } cases[] = {
      {"f32[3,90,100]", "f32[90,100]", "f32[3,90,90]", "[3,90,90]", 90, "transpose_b=true"},
      {"f32[600,77]", "f32[600,50]", "f32[77,50]", "[77,50]", 50, "transpose_a=true"},
      {"f32[203,300]", "f32[300,83]", "f32[203,83]", "[203,83]", 83, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.a) + " x " + c.b + " " + c.attrs);
    const std::string bias = "f32[" + std::to_string(c.n) + "]";
    ir::Graph g = Parse(std::string("graph g(%a: ") + c.a + ", %b: " + c.b + ", %v: " + bias +
                        ") {\n" + "  %y = " + c.c + " matmul_bias(%a, %b, %v) " + c.attrs + " {\n" +
                        "    %m = " + c.c + " matmul(%a, %b) " + c.attrs + "\n" +
                        "    %vb = " + c.c + " broadcast(%v) shape=" + c.dims + "\n" +
                        "    %y = " + c.c + " add(%m, %vb)\n    yield %y\n  }\n  return %y\n}");
    testing::ExpectEveryVariantClose(g, 1e-4);
  }
}

// The GEMM that adds a matrix in the write-out (matmul_add), for every schedule candidate of
// every form, in f32 and with bf16 operands (the vdpbf16ps tiles add it too). Its schedules
// are only those whose tiles cover the result exactly (it may write over its addend): at a
// shape no tile divides, the one fallback.
ir::Graph MatMulAddGraph(const std::string& a, const std::string& b, const std::string& y,
                         const std::string& attrs) {
  return Parse("graph g(%a: " + a + ", %b: " + b + ", %s: " + y + ") {\n  %y = " + y +
               " matmul_add(%a, %b, %s) " + attrs + " {\n    %m = " + y + " matmul(%a, %b) " +
               attrs + "\n    %y = " + y + " add(%m, %s)\n    yield %y\n  }\n  return %y\n}");
}

TEST(JitKernels, MatMulAddEveryScheduleCandidate) {
  struct Case {
    const char* a;
    const char* b;
    const char* c;
    const char* attrs;
  } cases[] = {
      {"[2,192,256]", "[192,256]", "[2,192,192]", "transpose_b=true"},
      {"[512,192]", "[512,128]", "[192,128]", "transpose_a=true"},
      {"[384,256]", "[256,192]", "[384,192]", ""},
  };
  for (const char* dt : {"f32", "bf16"}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(dt) + c.a + " x " + c.b + " " + c.attrs);
      testing::ExpectEveryVariantClose(MatMulAddGraph(dt + std::string(c.a), dt + std::string(c.b),
                                                      std::string("f32") + c.c, c.attrs),
                                       1e-4);
    }
  }
  ExpectClose(MatMulAddGraph("f32[203,300]", "f32[300,83]", "f32[203,83]", ""), 1e-4);
}

// Each named fused op's kernel against the interpreter running its body, at odd shapes.
TEST(JitKernels, NamedFusedOpsOddShapes) {
  ExpectClose(Parse(R"(graph g(%x: f32[2,2,37,37], %dy: f32[2,2,37,37]) {
  %p = f32[2,2,37,37] scale_mask_softmax(%x) scale=0.5 {
    %s = f32[2,2,37,37] scale(%x) factor=0.5
    %m = f32[2,2,37,37] causal_mask(%s) fill=-inf
    %p = f32[2,2,37,37] softmax(%m)
    yield %p
  }
  %dx = f32[2,2,37,37] scale_mask_softmax_grad(%p, %dy) scale=0.5 {
    %g = f32[2,2,37,37] softmax_grad(%p, %dy)
    %gm = f32[2,2,37,37] causal_mask(%g) fill=0.0
    %dx = f32[2,2,37,37] scale(%gm) factor=0.5
    yield %dx
  }
  return %p, %dx
})"),
              1e-4);
  ExpectClose(
      Parse(
          R"(graph g(%a: f32[3,7,37], %b: f32[3,7,37], %w: f32[37], %c: f32[37], %dy: f32[3,7,37], %dr: f32[3,7,37]) {
  %s, %y = f32[3,7,37], f32[3,7,37] add_layernorm(%a, %b, %w, %c) eps=1e-05 {
    %s = f32[3,7,37] add(%a, %b)
    %y = f32[3,7,37] layernorm(%s, %w, %c) eps=1e-05
    yield %s, %y
  }
  %dx, %dw, %db = f32[3,7,37], f32[37], f32[37] add_layernorm_grad(%s, %w, %dy, %dr) eps=1e-05 {
    %g, %dw, %db = f32[3,7,37], f32[37], f32[37] layernorm_grad(%s, %w, %dy) eps=1e-05
    %dx = f32[3,7,37] add(%dr, %g)
    yield %dx, %dw, %db
  }
  return %s, %y, %dx, %dw, %db
})"),
      1e-4);
  ExpectClose(Parse(R"(graph g(%x: f32[5,3,19], %b: f32[19], %dy: f32[5,3,19]) {
  %y = f32[5,3,19] bias_gelu(%x, %b) {
    %bb = f32[5,3,19] broadcast(%b) shape=[5,3,19]
    %pre = f32[5,3,19] add(%x, %bb)
    %y = f32[5,3,19] gelu(%pre)
    yield %y
  }
  %dx = f32[5,3,19] bias_gelu_grad(%x, %b, %dy) {
    %bb = f32[5,3,19] broadcast(%b) shape=[5,3,19]
    %pre = f32[5,3,19] add(%x, %bb)
    %dx = f32[5,3,19] gelu_grad(%pre, %dy)
    yield %dx
  }
  return %y, %dx
})"),
              1e-5);
  ExpectClose(Parse(R"(graph g(%l: f32[3,5,11], %t: i32[3,5], %d: f32[]) {
  %loss = f32[] softmax_xent(%l, %t) {
    %p = f32[3,5,11] softmax(%l)
    %loss = f32[] xent(%p, %t)
    yield %loss
  }
  %dl = f32[3,5,11] softmax_xent_grad(%l, %t, %d) {
    %p = f32[3,5,11] softmax(%l)
    %dp = f32[3,5,11] xent_grad(%p, %t, %d)
    %dl = f32[3,5,11] softmax_grad(%p, %dp)
    yield %dl
  }
  return %loss, %dl
})"),
              1e-4, /*int_limit=*/11);
}

// Every kernel of the fused tiny train step (all fused ops, AdamW chains, reductions) against
// the interpreter running the same graph, value by value.
TEST(JitKernels, FusedTrainStepOfTinyGpt) {
  auto model = nn::BuildGpt(*PresetConfig("tiny"));
  ASSERT_TRUE(model.ok());
  passes::StepOptions unplanned;  // every value keeps its own buffer, so each can be read back
  unplanned.plan = false;
  auto train = passes::BuildTrainStep(model->graph, unplanned);
  ASSERT_TRUE(train.ok()) << train.status();
  // Parameters as the model initialises them, moments positive (v is square-rooted), a
  // learning rate and step as in training.
  ir::LiteralMap args = testing::RandomArgs(*train, 3, 65, /*positive=*/true);
  for (const auto& [name, lit] : InitParams(model->params, 7)) args[name] = lit;
  args["lr"] = ir::Literal(ir::F32({}), {1e-3});
  args["step"] = ir::Literal(ir::F32({}), {3});
  testing::Mismatch m = testing::CompareWithInterpreter(*train, args);
  EXPECT_LE(m.worst_rel, 1e-4) << "worst at " << m.where;
}

// Each schedule of lower_reduce.cc: a long contiguous row cut into parallel chunks, rows of
// lanes, column sums over parallel row blocks, parallel outer rows, narrow columns; and a
// fused square-and-sum (AdamW's gradient norm) over a long row.
TEST(JitKernels, ReductionsOfEveryShapeClass) {
  ExpectClose(Parse("graph g(%a: f32[40000], %b: f32[3,33333], %c: f32[2000,37], %d: "
                    "f32[5,300,40], %e: f32[2,9,7]) {\n"
                    "  %sa = f32[] sum(%a) axis=0\n  %mb = f32[3] max(%b) axis=1\n  %mc = f32[37] "
                    "mean(%c) axis=0\n"
                    "  %sd = f32[5,40] sum(%d) axis=1\n  %me = f32[2,7] max(%e) axis=1\n"
                    "  %rc = f32[2000] sum(%c) axis=1\n"
                    "  return %sa, %mb, %mc, %sd, %me, %rc\n}"),
              1e-4);
  ExpectClose(Parse(R"(graph g(%g: f32[250,200]) {
  %n = f32[] fusion(%g) pattern="elementwise" {
    %sq = f32[250,200] mul(%g, %g)
    %flat = f32[50000] reshape(%sq) shape=[50000]
    %n = f32[] sum(%flat) axis=0
    yield %n
  }
  return %n
})"),
              1e-4);
}

// Concatenation along the last axis (parts narrower and wider than a vector, parallel rows)
// and along the first (long contiguous parts).
TEST(JitKernels, ConcatLargeAndOdd) {
  ExpectClose(Parse("graph g(%a: f32[400,40], %b: f32[400,7], %c: f32[400,33], %d: f32[2,3000]) {\n"
                    "  %x = f32[400,80] concat(%a, %b, %c) axis=1\n"
                    "  %d2 = f32[1,3000] slice(%d) axis=0 start=1 end=2\n"
                    "  %y = f32[3,3000] concat(%d, %d2) axis=0\n"
                    "  return %x, %y\n}"),
              1e-6);
}

// The allocation-free scalar path of a training loop gives what Run() gives, and says which
// input or output does not fit.
TEST(JitKernels, ScalarInputsAndOutputs) {
  ir::Graph g = Parse(
      "graph g(%a: f32[], %x: f32[3]) {\n  %b = f32[] scale(%a) factor=2.0\n  return %b, %x\n}");
  StateStore store;
  auto ex = Executable::Create(g, testing::SharedCompiler(), store);
  ASSERT_TRUE(ex.ok()) << ex.status();
  ASSERT_TRUE((*ex)->SetScalar("a", 1.25).ok());
  auto r = (*ex)->RunScalar();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 2.5);
  EXPECT_EQ((*ex)->SetScalar("x", 1).message(), "graph g has no f32[] input %x");
  EXPECT_EQ((*ex)->RunScalar(1).status().message(), "output %x is not f32[]");
  EXPECT_EQ((*ex)->RunScalar(2).status().message(), "graph g has no output 2");
}

TEST(JitKernels, BadTokenIdsAreRejectedBeforeRunning) {
  ir::Graph g = Parse(
      "graph g(%tab: f32[5,3] param, %ids: i32[2]) {\n"
      "  %e = f32[2,3] embedding(%tab, %ids)\n  return %e\n}");
  StateStore store;
  auto ex = Executable::Create(g, testing::SharedCompiler(), store);
  ASSERT_TRUE(ex.ok()) << ex.status();
  EXPECT_EQ((*ex)->SetInput("ids", ir::Literal(ir::I32({2}), {1, 5})).message(),
            "input %ids: id 5 at flat position 1 is outside [0,5)");
  EXPECT_EQ((*ex)->SetInput("nope", ir::Literal(ir::I32({2}), {1, 2})).message(),
            "graph g has no input %nope");
}

}  // namespace
}  // namespace gptc

namespace gptc {
namespace {

// GEMMs reading and writing the memory plan's strided views, at sizes that are multiples of
// nothing: q, k and v sliced out of one input, every GEMM form (A B^T, A B, A^T B), results
// written through transposes and a concat. Each schedule variant of every GEMM, against the
// interpreter running the same graph unplanned.
TEST(JitKernels, StridedViewsInEveryGemmForm) {
  const ir::Graph g = Parse(R"(graph attn(%x: f32[2,5,63]) {
  %s0  = f32[2,5,21]   slice(%x)  axis=2 start=0 end=21
  %r0  = f32[2,5,3,7]  reshape(%s0)  shape=[2,5,3,7]
  %q   = f32[2,3,5,7]  transpose(%r0)  perm=[0,2,1,3]
  %s1  = f32[2,5,21]   slice(%x)  axis=2 start=21 end=42
  %r1  = f32[2,5,3,7]  reshape(%s1)  shape=[2,5,3,7]
  %k   = f32[2,3,5,7]  transpose(%r1)  perm=[0,2,1,3]
  %s2  = f32[2,5,21]   slice(%x)  axis=2 start=42 end=63
  %r2  = f32[2,5,3,7]  reshape(%s2)  shape=[2,5,3,7]
  %v   = f32[2,3,5,7]  transpose(%r2)  perm=[0,2,1,3]
  %att = f32[2,3,5,5]  matmul(%q, %k)  transpose_b=true
  %p   = f32[2,3,5,5]  softmax(%att)
  %y   = f32[2,3,5,7]  matmul(%p, %v)
  %dk  = f32[2,3,5,7]  matmul(%p, %q)  transpose_a=true
  %ty  = f32[2,5,3,7]  transpose(%y)  perm=[0,2,1,3]
  %my  = f32[2,5,21]   reshape(%ty)  shape=[2,5,21]
  %tk  = f32[2,5,3,7]  transpose(%dk)  perm=[0,2,1,3]
  %mk  = f32[2,5,21]   reshape(%tk)  shape=[2,5,21]
  %cat = f32[2,5,42]   concat(%my, %mk)  axis=2
  %o   = f32[2,5,42]   tanh(%cat)
  return %o
})");
  auto planned = passes::Plan(g);
  ASSERT_TRUE(planned.ok()) << planned.status();
  ASSERT_TRUE(ir::Verify(*planned).ok()) << ir::Verify(*planned);
  int views = 0, strided_gemms = 0;
  for (const ir::Node& n : planned->nodes()) {
    if (ir::MovesNoData(*planned, n)) ++views;
    if (n.op == ir::Op::kMatMul &&
        !codegen::KernelSpec::FromNode(*planned, n).input_strides.empty())
      ++strided_gemms;
  }
  EXPECT_EQ(views, 14);  // every slice, reshape, transpose and the concat
  EXPECT_EQ(strided_gemms, 3);
  const ir::LiteralMap args = testing::RandomArgs(g, 9, 5);
  auto want = ir::Interpret(g, args);
  ASSERT_TRUE(want.ok()) << want.status();
  for (int v = 0; v < 6; ++v) {
    codegen::CompilerOptions o;
    o.cache_dir = testing::TestCacheDir();
    o.variant = v;  // clamped per kernel to the variants it has
    auto compiler = codegen::KernelCompiler::Create(o);
    ASSERT_TRUE(compiler.ok()) << compiler.status();
    StateStore store;
    auto ex = Executable::Create(*planned, **compiler, store);
    ASSERT_TRUE(ex.ok()) << ex.status();
    ASSERT_TRUE((*ex)->SetInput("x", args.at("x")).ok());
    auto got = (*ex)->Run();
    ASSERT_TRUE(got.ok()) << got.status();
    double worst = 0;
    for (size_t i = 0; i < (*want)[0].data.size(); ++i)
      worst = std::max(worst, std::abs((*got)[0].data[i] - (*want)[0].data[i]));
    EXPECT_LE(worst, 1e-5) << "variant " << v;
  }
}

}  // namespace
}  // namespace gptc

namespace gptc {
namespace {

// The tiny GPT with the exact GELU (--gelu=erf): its train step, fused (bias_gelu_erf and its
// gradient kernels), compiled and compared value by value with the interpreter.
TEST(JitKernels, ExactGeluTrainStepMatchesTheInterpreter) {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.gelu = "erf";
  auto m = nn::BuildGpt(cfg);
  ASSERT_TRUE(m.ok()) << m.status();
  passes::StepOptions o;
  o.plan = false;  // one buffer per value, so that every value can be compared
  auto g = passes::BuildTrainStep(m->graph, o);
  ASSERT_TRUE(g.ok()) << g.status();
  int fused = 0;
  for (const ir::Node& n : g->nodes())
    fused += n.op == ir::Op::kBiasGeluErf || n.op == ir::Op::kBiasGeluErfGrad;
  EXPECT_EQ(fused, 2 * cfg.n_layer);
  ir::LiteralMap args = testing::RandomArgs(*g, 11, 65);
  for (const ParamSpec& p : m->params) args[p.name] = InitParams({p}, 3)[p.name];
  args["step"] = ir::Literal(ir::F32({}), {1.0});
  const testing::Mismatch mm = testing::CompareWithInterpreter(*g, args);
  EXPECT_LT(mm.worst_rel, 1e-4) << mm.where;
}

}  // namespace
}  // namespace gptc
