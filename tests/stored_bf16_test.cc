// Results stored in bf16 by the kernel that makes them, and bf16 operands widened by the
// kernel that reads them (passes/mixed_precision.h's StoreCastsInProducers and
// LoadCastsInConsumers, traits kStoresBF16 and kLoadsBF16): which casts the passes move
// into a kernel, which they leave, the verifier's rule for a body ending or starting in
// such a cast, and the kernels against the interpreter (which runs the body, casts included).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "codegen/amx_gemm.h"
#include "codegen/kernel_spec.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/types.h"
#include "ir/verifier.h"
#include "passes/mixed_precision.h"
#include "tests/jit_test_util.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

using ir::DType;
using ir::Op;

ir::Graph Parse(const std::string& text) {
  auto g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(ir::Verify(*g).ok()) << ir::Verify(*g);
  return *g;
}

// `text` parses, and the verifier rejects it saying `message`.
void ExpectRejected(const std::string& text, const std::string& message) {
  auto g = ir::ParseGraph(text);
  ASSERT_TRUE(g.ok()) << g.status();
  const absl::Status s = ir::Verify(*g);
  EXPECT_NE(s.message().find(message), std::string::npos) << s;
}

// add_layernorm whose norm only GEMMs read (through a cast) and whose sum the graph returns;
// a bias_gelu whose output is cast and also read in f32; a generic fusion read by a cast;
// add_layernorm_grad whose dx is returned and cast (a copy besides).
const char* kBefore =
    R"(graph g(%a: f32[4,33], %b: f32[4,33], %w: f32[33], %c: f32[33], %m: bf16[33,8], %bias: f32[8]) {
  %s, %y = f32[4,33], f32[4,33] add_layernorm(%a, %b, %w, %c) eps=1e-05 {
    %s = f32[4,33] add(%a, %b)
    %y = f32[4,33] layernorm(%s, %w, %c) eps=1e-05
    yield %s, %y
  }
  %y16 = bf16[4,33] cast(%y) dtype="bf16"
  %p = f32[4,8] matmul(%y16, %m)
  %q = f32[4,8] bias_gelu(%p, %bias) {
    %bb = f32[4,8] broadcast(%bias) shape=[4,8]
    %pre = f32[4,8] add(%p, %bb)
    %q = f32[4,8] gelu(%pre)
    yield %q
  }
  %q16 = bf16[4,8] cast(%q) dtype="bf16"
  %e = f32[4,8] fusion(%p, %q) pattern="elementwise" {
    %e = f32[4,8] mul(%p, %q)
    yield %e
  }
  %e16 = bf16[4,8] cast(%e) dtype="bf16"
  %e16b = bf16[4,8] cast(%e) dtype="bf16"
  %dx, %dw, %db = f32[4,33], f32[33], f32[33] add_layernorm_grad(%s, %w, %a, %b) eps=1e-05 {
    %g, %dw, %db = f32[4,33], f32[33], f32[33] layernorm_grad(%s, %w, %a) eps=1e-05
    %dx = f32[4,33] add(%b, %g)
    yield %dx, %dw, %db
  }
  %dx16 = bf16[4,33] cast(%dx) dtype="bf16"
  return %s, %q, %q16, %e16, %e16b, %y16, %dx, %dw, %db, %dx16
})";

TEST(StoredBF16, CastsMoveIntoProducersAsNarrowResultsOrCopies) {
  ir::Graph g = Parse(kBefore);
  auto out = passes::StoreCastsInProducers(g);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE(ir::Verify(*out).ok()) << ir::Verify(*out);
  int casts = 0;
  for (const ir::Node& n : out->nodes()) {
    casts += n.op == Op::kCast;
    if (n.op == Op::kAddLayerNorm) {
      EXPECT_EQ(out->value(n.outputs[0]).type.dtype, DType::kF32);  // the graph returns it
      EXPECT_EQ(out->value(n.outputs[1]).type, ir::TensorType({DType::kBF16, {4, 33}}));
      EXPECT_EQ(out->value(n.outputs[1]).name, "y16");  // the cast's name
      EXPECT_EQ(n.body->node(n.body->value(n.body->outputs()[1]).producer).op, Op::kCast);
    }
    // Its f32 result is also returned, and a copy would make it a multi-result kernel,
    // which the plan never writes in place: it keeps its cast.
    if (n.op == Op::kBiasGelu) {
      EXPECT_EQ(n.outputs.size(), 1u);
    }
    if (n.op == Op::kCast) {
      EXPECT_EQ(out->value(n.outputs[0]).name, "q16");
    }
    if (n.op == Op::kAddLayerNormGrad) {  // dx, dw, db, then dx's copy
      ASSERT_EQ(n.outputs.size(), 4u);
      EXPECT_EQ(out->value(n.outputs[3]).name, "dx16");
    }
    if (n.op == Op::kFusion) {  // both casts of it read the one stored result
      EXPECT_EQ(out->value(n.outputs[0]).type.dtype, DType::kBF16);
    }
  }
  EXPECT_EQ(casts, 1);
  // The two casts of the fusion's result are one value now: both outputs are it.
  EXPECT_EQ(out->outputs()[3], out->outputs()[4]);
  EXPECT_EQ(out->value(out->outputs()[5]).name, "y16");
  // The meaning is unchanged: the interpreter gives the same outputs before and after.
  const ir::LiteralMap args = testing::RandomArgs(g, 5, 2);
  auto before = ir::Interpret(g, args), after = ir::Interpret(*out, args);
  ASSERT_TRUE(before.ok() && after.ok());
  for (size_t i = 0; i < before->size(); ++i) EXPECT_EQ((*before)[i].data, (*after)[i].data) << i;
}

TEST(StoredBF16, TheVerifierAcceptsATrailingCastOnlyWhereTheKernelStoresIt) {
  // softmax_xent has no kStoresBF16: its kernel writes f32 whatever the node declares.
  ExpectRejected(R"(graph g(%l: f32[3,5], %t: i32[3]) {
  %loss = bf16[] softmax_xent(%l, %t) {
    %p = f32[3,5] softmax(%l)
    %x = f32[] xent(%p, %t)
    %x16 = bf16[] cast(%x) dtype="bf16"
    yield %x16
  }
  return %loss
})",
                 "softmax_xent: body must be");
  // A widening cast at the end is not a stored rounding either.
  ExpectRejected(R"(graph g(%x: f32[4,8], %b: f32[8]) {
  %y = f32[4,8] bias_gelu(%x, %b) {
    %bb = f32[4,8] broadcast(%b) shape=[4,8]
    %pre = f32[4,8] add(%x, %bb)
    %q = f32[4,8] gelu(%pre)
    %h = bf16[4,8] cast(%q) dtype="bf16"
    %y = f32[4,8] cast(%h) dtype="f32"
    yield %y
  }
  return %y
})",
                 "bias_gelu: body must be");
  // An extra result must be a bf16 copy of one of the op's own, not any value of the body.
  ExpectRejected(R"(graph g(%x: f32[4,8], %b: f32[8]) {
  %y, %p = f32[4,8], bf16[4,8] bias_gelu(%x, %b) {
    %bb = f32[4,8] broadcast(%b) shape=[4,8]
    %pre = f32[4,8] add(%x, %bb)
    %y = f32[4,8] gelu(%pre)
    %p = bf16[4,8] cast(%pre) dtype="bf16"
    yield %y, %p
  }
  return %y, %p
})",
                 "is not a bf16 copy of a result");
  // And only a kStoresBF16 op has results beyond its row's count.
  ExpectRejected(R"(graph g(%l: f32[3,5], %t: i32[3]) {
  %loss, %l16 = f32[], bf16[] softmax_xent(%l, %t) {
    %p = f32[3,5] softmax(%l)
    %x = f32[] xent(%p, %t)
    %x16 = bf16[] cast(%x) dtype="bf16"
    yield %x, %x16
  }
  return %loss
})",
                 "has 2 results, expected 1");
}

// Each kernel rounds as the body says: bf16 results equal the interpreter's (round to
// nearest even of the f32 value) but where the two f32 values straddle a rounding boundary,
// and never differ by more than one bf16 step. A kernel that truncated instead would differ
// in about half the elements.
// The JIT's results against the interpreter's: f32 ones close, bf16 ones equal but where
// the two f32 values straddle a rounding boundary, and never more than one bf16 step apart.
// A kernel that truncated instead would differ in about half the elements. `slack`: what the
// f32 values may differ by besides, relative to the largest of the result (a kernel that
// rounds inside, as the attention's probabilities, moves its result by bf16 steps of those).
// Returns how many bf16 elements there are.
int64_t ExpectRoundedAsTheInterpreter(const std::vector<ir::Literal>& jit,
                                      const std::vector<ir::Literal>& want, double slack = 0) {
  int64_t bf16_elements = 0, off = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const ir::Literal &a = jit[i], &b = want[i];
    EXPECT_EQ(a.type, b.type) << i;
    if (a.type != b.type) continue;
    double scale = 0;
    for (double x : b.data) scale = std::max(scale, std::fabs(x));
    for (int64_t k = 0; k < a.size(); ++k) {
      // One bf16 step; near zero GELU's f32 and double forms differ absolutely (~1e-8).
      const double step = std::ldexp(std::fabs(b.data[k]), -7) + 1e-6 + slack * scale;
      if (a.type.dtype != DType::kBF16) {
        EXPECT_NEAR(a.data[k], b.data[k], 1e-5 * (1 + std::fabs(b.data[k])) + slack * scale)
            << i << " " << k;
        continue;
      }
      ++bf16_elements;
      if (a.data[k] != b.data[k]) ++off;
      EXPECT_LE(std::fabs(a.data[k] - b.data[k]), step * 1.01) << "result " << i << " at " << k;
    }
  }
  EXPECT_LE(off, bf16_elements / 20) << "elements off by a bf16 step";
  return bf16_elements;
}

TEST(StoredBF16, KernelsRoundTheirStoredResultsAsTheInterpreter) {
  auto g = passes::StoreCastsInProducers(Parse(kBefore));
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::LiteralMap args = testing::RandomArgs(*g, 7, 2);
  auto jit = testing::RunOnJit(*g, args);
  auto want = ir::Interpret(*g, args);
  ASSERT_TRUE(jit.ok()) << jit.status();
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_EQ(ExpectRoundedAsTheInterpreter(*jit, *want), 4 * 8 * 3 + 4 * 33 * 2);
}

// The qkv projection as the mixed-precision pass leaves it: a bf16 GEMM with its bias, whose
// f32 result only a cast reads (the attention reads its bf16 slices).
const char* kProjection = R"(graph g(%x: bf16[128,256], %w: bf16[96,256], %v: f32[96]) {
  %y = f32[128,96] matmul_bias(%x, %w, %v) transpose_b=true {
    %m = f32[128,96] matmul(%x, %w) transpose_b=true
    %vb = f32[128,96] broadcast(%v) shape=[128,96]
    %y = f32[128,96] add(%m, %vb)
    yield %y
  }
  %y16 = bf16[128,96] cast(%y) dtype="bf16"
  return %y16
})";

// Every schedule variant of g's last node (a GEMM storing bf16) on the JIT: the tuner's
// paths (FMA tiles on widened operands, vdpbf16ps tiles, AMX tiles, emulated here so that
// every CPU runs them), each rounding as the interpreter does.
void ExpectEveryGemmPathRounds(const ir::Graph& g, int64_t m, int64_t n, int64_t k) {
  const codegen::AmxMode before = codegen::AmxGemmMode();
  codegen::SetAmxGemmMode(codegen::AmxMode::kEmulated);
  const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(g, g.nodes().back());
  auto variants = testing::SharedCompiler().NumVariants(spec);
  ASSERT_TRUE(variants.ok()) << variants.status();
  EXPECT_GT(*variants, static_cast<int>(codegen::AmxBlockingCandidates(m, n, k).size()));
  const ir::LiteralMap args = testing::RandomArgs(g, 11, 2);
  auto want = ir::Interpret(g, args);
  ASSERT_TRUE(want.ok()) << want.status();
  for (int v = 0; v < *variants; ++v) {
    SCOPED_TRACE(absl::StrCat("variant ", v));
    codegen::CompilerOptions o;
    o.cache_dir = testing::TestCacheDir();
    o.variant = v;
    auto compiler = codegen::KernelCompiler::Create(o);
    ASSERT_TRUE(compiler.ok()) << compiler.status();
    auto jit = testing::RunOnJit(g, args, **compiler);
    ASSERT_TRUE(jit.ok()) << jit.status();
    EXPECT_EQ(ExpectRoundedAsTheInterpreter(*jit, *want), m * n);
  }
  codegen::SetAmxGemmMode(before);
}

// The GEMM takes the cast: one kernel writes the bf16 result.
TEST(StoredBF16, GemmWithBiasStoresItsResultRoundedOnEveryPath) {
  auto g = passes::StoreCastsInProducers(Parse(kProjection));
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(ir::Verify(*g).ok()) << ir::Verify(*g);
  ASSERT_EQ(g->num_nodes(), 4);  // three declarations and the GEMM
  const ir::Node& gemm = g->nodes().back();
  ASSERT_EQ(gemm.op, Op::kMatMulBias);
  EXPECT_EQ(g->value(gemm.outputs[0]).type.dtype, DType::kBF16);
  EXPECT_EQ(g->value(gemm.outputs[0]).name, "y16");
  ExpectEveryGemmPathRounds(*g, 128, 96, 256);
}

// The MLP's first product as the mixed-precision pass leaves it: its f32 pre-activation is
// cast to bf16 for the backward pass and read by the GELU (which can widen bf16 itself);
// a second product feeds a plain add besides a cast, a third is the graph's result, and a
// fourth only a GELU reads (no cast asks for it in bf16).
const char* kMlp = R"(graph g(%x: bf16[64,96], %w: bf16[128,96], %b: f32[128], %u: bf16[96,64]) {
  %p = f32[64,128] matmul(%x, %w) transpose_b=true
  %saved = bf16[64,128] cast(%p) dtype="bf16"
  %y = f32[64,128] bias_gelu(%p, %b) {
    %bb = f32[64,128] broadcast(%b) shape=[64,128]
    %pre = f32[64,128] add(%p, %bb)
    %y = f32[64,128] gelu(%pre)
    yield %y
  }
  %q = f32[64,64] matmul(%x, %u)
  %r = f32[64,64] add(%q, %q)
  %q16 = bf16[64,64] cast(%q) dtype="bf16"
  %s = f32[64,64] matmul(%x, %u)
  %t = f32[64,128] matmul(%x, %w) transpose_b=true
  %z = f32[64,128] bias_gelu(%t, %b) {
    %bb = f32[64,128] broadcast(%b) shape=[64,128]
    %pre = f32[64,128] add(%t, %bb)
    %z = f32[64,128] gelu(%pre)
    yield %z
  }
  return %saved, %y, %r, %s, %z, %q16
})";

TEST(NarrowGemmResults, GemmsStoreBF16WhereOnlyCastsAndWideningKernelsReadThem) {
  auto narrow = passes::NarrowGemmResults(Parse(kMlp));
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  auto g = passes::LoadCastsInConsumers(*narrow);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(ir::Verify(*g).ok()) << ir::Verify(*g);
  int casts = 0, bf16_gemms = 0;
  for (const ir::Node& n : g->nodes()) {
    casts += n.op == Op::kCast;
    if (n.op != Op::kMatMul) continue;
    const ir::Value& r = g->value(n.outputs[0]);
    if (r.type.dtype == DType::kBF16) {
      ++bf16_gemms;
      EXPECT_EQ(r.name, "saved");  // the cast's value, now the GEMM's
      EXPECT_EQ(*n.attrs.GetString("dtype"), "bf16");
    }
  }
  EXPECT_EQ(casts, 1);       // %q's; the narrowing cast absorbed, the widening one in the GELU
  EXPECT_EQ(bf16_gemms, 1);  // the add, the graph's result and %z's GELU keep f32
  const ir::Node& gelu = g->node(g->value(g->outputs()[1]).producer);
  ASSERT_EQ(gelu.op, Op::kBiasGelu);
  EXPECT_EQ(g->value(gelu.inputs[0]).type.dtype, DType::kBF16);
  // The GELU now reads the rounded pre-activation: exactly the original graph with the GELU
  // reading the saved copy widened; everything else unchanged.
  std::string rounded = kMlp;
  const std::string from = "bias_gelu(%p, %b)";
  rounded.replace(rounded.find(from), from.size(), "bias_gelu(%pr, %b)");
  rounded.replace(rounded.find("  %y = f32[64,128] bias_gelu"), 0,
                  "  %pr = f32[64,128] cast(%saved) dtype=\"f32\"\n");
  rounded.replace(rounded.find("add(%p, %bb)"), 12, "add(%pr, %bb)");
  const ir::LiteralMap args = testing::RandomArgs(*g, 13, 2);
  auto before = ir::Interpret(Parse(kMlp), args), after = ir::Interpret(*g, args);
  auto want = ir::Interpret(Parse(rounded), args);
  ASSERT_TRUE(before.ok() && after.ok() && want.ok());
  for (int i : {0, 1, 2, 3, 4, 5}) EXPECT_EQ((*want)[i].data, (*after)[i].data) << i;
  EXPECT_NE((*before)[1].data, (*after)[1].data);  // the rounding is seen
}

using Step = absl::StatusOr<ir::Graph> (*)(const ir::Graph&);

// g after each of `steps` in turn, verified.
ir::Graph After(const ir::Graph& g, std::initializer_list<Step> steps) {
  ir::Graph out = g;
  for (Step step : steps) {
    auto next = step(out);
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok()) return out;
    out = *std::move(next);
  }
  EXPECT_TRUE(ir::Verify(out).ok()) << ir::Verify(out);
  return out;
}

// A rewrite that moves casts into kernels changes nothing the interpreter computes, and the
// JIT runs the rewritten graph rounding as the interpreter does. Returns the bf16 elements.
int64_t ExpectSameValuesAndRounding(const ir::Graph& before, const ir::Graph& after, uint64_t seed,
                                    bool positive) {
  const ir::LiteralMap args = testing::RandomArgs(before, seed, 2, positive);
  auto want = ir::Interpret(before, args), got = ir::Interpret(after, args);
  EXPECT_TRUE(want.ok() && got.ok());
  if (!want.ok() || !got.ok()) return 0;
  for (size_t i = 0; i < want->size(); ++i) EXPECT_EQ((*want)[i].data, (*got)[i].data) << i;
  auto jit = testing::RunOnJit(after, args);
  EXPECT_TRUE(jit.ok()) << jit.status();
  return jit.ok() ? ExpectRoundedAsTheInterpreter(*jit, *want) : 0;
}

// Without biases, a GELU whose output a cast rounds, a GELU gradient reading a saved bf16
// pre-activation through a widening cast (its result rounded for the GEMMs), and an add
// next to no cast.
const char* kLoneElementwise =
    R"(graph g(%x: f32[4,40], %s: bf16[4,40], %dy: f32[4,40]) {
  %g = f32[4,40] gelu_erf(%x)
  %g16 = bf16[4,40] cast(%g) dtype="bf16"
  %w = f32[4,40] cast(%s) dtype="f32"
  %d = f32[4,40] gelu_erf_grad(%w, %dy)
  %d16 = bf16[4,40] cast(%d) dtype="bf16"
  %a = f32[4,40] add(%x, %x)
  return %g16, %d16, %a
})";

// Lone elementwise ops next to casts become one-op fusions, which then take the casts as the
// fused ops do: two kernels and no cast, each computing what the casts did, bit for bit
// against the interpreter's run of the original graph, and on the JIT as the interpreter
// rounds.
TEST(WrapElementwiseNextToCasts, LoneOpsTakeTheirCastsAsFusions) {
  const ir::Graph before = Parse(kLoneElementwise);
  const ir::Graph g = After(before, {passes::WrapElementwiseNextToCasts,
                                     passes::StoreCastsInProducers, passes::LoadCastsInConsumers});
  std::vector<Op> kernels;
  for (const ir::Node& n : g.nodes())
    if (!ir::HasTrait(n.op, ir::kDecl)) kernels.push_back(n.op);
  EXPECT_EQ(kernels, (std::vector<Op>{Op::kFusion, Op::kFusion, Op::kAdd}));
  const ir::Node& grad = g.node(g.value(g.outputs()[1]).producer);
  EXPECT_EQ(g.value(grad.inputs[0]).type.dtype, DType::kBF16);  // reads the saved copy
  EXPECT_EQ(g.value(grad.outputs[0]).type.dtype, DType::kBF16);
  EXPECT_EQ(ExpectSameValuesAndRounding(before, g, 17, /*positive=*/false), 2 * 4 * 40);
}

// Casts after layout ops: a concat of two transposes of kernels that can store bf16 (the
// qkv gradient's shape of things), and a transpose whose result is also read in f32.
const char* kLayouts = R"(graph g(%a: f32[4,6], %b: f32[4,6]) {
  %x = f32[4,6] fusion(%a) pattern="elementwise" {
    %x = f32[4,6] exp(%a)
    yield %x
  }
  %y = f32[4,6] fusion(%b) pattern="elementwise" {
    %y = f32[4,6] neg(%b)
    yield %y
  }
  %t = f32[6,4] transpose(%x) perm=[1,0]
  %u = f32[6,4] transpose(%y) perm=[1,0]
  %c = f32[12,4] concat(%t, %u) axis=0
  %c16 = bf16[12,4] cast(%c) dtype="bf16"
  %z = f32[4,6] fusion(%a) pattern="elementwise" {
    %z = f32[4,6] sqrt(%a)
    yield %z
  }
  %zt = f32[6,4] transpose(%z) perm=[1,0]
  %zt16 = bf16[6,4] cast(%zt) dtype="bf16"
  %w = f32[6,4] add(%zt, %zt)
  return %c16, %zt16, %w
})";

TEST(SinkCastsThroughLayouts, CastsMoveUpToKernelsThatStoreThem) {
  const ir::Graph before = Parse(kLayouts);
  const ir::Graph g =
      After(before, {passes::SinkCastsThroughLayouts, passes::StoreCastsInProducers});
  int casts = 0;
  for (const ir::Node& n : g.nodes()) {
    casts += n.op == Op::kCast;
    const ir::Value& r = g.value(n.outputs[0]);
    if (n.op == Op::kTranspose || n.op == Op::kConcat || n.op == Op::kFusion) {
      // The concat's path moves bf16; %z's transpose stays f32 (the add reads it too).
      const bool narrow = r.name != "z" && r.name != "zt";
      EXPECT_EQ(r.type.dtype, narrow ? DType::kBF16 : DType::kF32) << r.name;
    }
  }
  EXPECT_EQ(casts, 1);  // %zt's
  EXPECT_EQ(g.value(g.outputs()[0]).name, "c16");
  EXPECT_EQ(g.node(g.value(g.outputs()[0]).producer).op, Op::kConcat);
  EXPECT_EQ(ExpectSameValuesAndRounding(before, g, 23, /*positive=*/true), 12 * 4 + 6 * 4);
}

// The logits' gradient, which only the head's two GEMMs read (through a cast to bf16).
TEST(StoredBF16, CrossEntropyGradientStoresItsResultRounded) {
  const ir::Graph before = Parse(R"(graph g(%l: f32[6,40], %t: i32[6], %d: f32[]) {
  %dl = f32[6,40] softmax_xent_grad(%l, %t, %d) {
    %p = f32[6,40] softmax(%l)
    %dp = f32[6,40] xent_grad(%p, %t, %d)
    %dl = f32[6,40] softmax_grad(%p, %dp)
    yield %dl
  }
  %dl16 = bf16[6,40] cast(%dl) dtype="bf16"
  return %dl16
})");
  const ir::Graph g = After(before, {passes::StoreCastsInProducers});
  ASSERT_EQ(g.nodes().back().op, Op::kSoftmaxXentGrad);
  EXPECT_EQ(g.value(g.outputs()[0]).type.dtype, DType::kBF16);
  const ir::LiteralMap args = testing::RandomArgs(before, 29, 40);
  auto want = ir::Interpret(before, args);
  ASSERT_TRUE(want.ok()) << want.status();
  auto jit = testing::RunOnJit(g, args);
  ASSERT_TRUE(jit.ok()) << jit.status();
  EXPECT_EQ(ExpectRoundedAsTheInterpreter(*jit, *want), 6 * 40);
}

// The attention forward and backward as the bf16 pass leaves them, each result cast to bf16
// (the projection's operand; the qkv gradient) and, with `keep_f32`, returned in f32 too
// (with biases the bias gradient reads the qkv gradient), the casts then moved into the
// kernels: the results stored in bf16, or (the backward's, with `keep_f32`) bf16 copies
// written besides the f32 results.
ir::Graph AttentionStoringBF16(int64_t b, int64_t h, int64_t t, int64_t d, bool keep_f32) {
  const std::string x = testing::F32Type({b, h, t, d});
  auto f32 = ir::ParseGraph(absl::StrCat(
      "graph g(%q: ", x, ", %k: ", x, ", %v: ", x, ", %dy: ", x, ") {\n",
      testing::AttentionOpsText(b, h, t, d, 1 / std::sqrt(d)), "  return %y, %dq, %dk, %dv\n}"));
  EXPECT_TRUE(f32.ok()) << f32.status();
  auto g = passes::CastEveryGemmOperand(*f32, DType::kBF16);
  EXPECT_TRUE(g.ok()) << g.status();
  std::vector<ir::ValueId> rounded;
  if (keep_f32) rounded = g->outputs();
  for (ir::ValueId v : g->outputs()) {
    ir::TensorType type = g->value(v).type;
    type.dtype = DType::kBF16;
    const ir::NodeId c = g->AddNode(Op::kCast, {v}, {{"dtype", std::string("bf16")}},
                                    {{g->value(v).name + "16", type}});
    rounded.push_back(g->node(c).outputs[0]);
  }
  g->set_outputs(rounded);
  auto stored = passes::StoreCastsInProducers(*g);
  EXPECT_TRUE(stored.ok()) << stored.status();
  return *stored;
}

// Both attention kernels store their results rounded on every path the tuner may choose:
// the Halide kernel, its vdpbf16ps form (where the CPU has avx512_bf16) and the AMX kernel
// (emulated, so every CPU runs it), as the interpreter rounds.
TEST(StoredBF16, AttentionStoresItsResultsRoundedOnEveryPath) {
  const codegen::AmxMode before = codegen::AmxGemmMode();
  codegen::SetAmxGemmMode(codegen::AmxMode::kEmulated);
  for (bool keep_f32 : {false, true}) {
    SCOPED_TRACE(keep_f32 ? "f32 results and bf16 copies" : "bf16 results");
    const ir::Graph g = AttentionStoringBF16(2, 2, 64, 32, keep_f32);
    ASSERT_TRUE(ir::Verify(g).ok()) << ir::Verify(g);
    int kernels = 0, most = 0;
    for (const ir::Node& n : g.nodes()) {
      if (n.op != Op::kCausalAttention && n.op != Op::kCausalAttentionGrad) continue;
      ++kernels;
      const bool copies = keep_f32 && n.op == Op::kCausalAttentionGrad;
      ASSERT_EQ(n.outputs.size(), n.op == Op::kCausalAttention ? 1u : copies ? 6u : 3u);
      for (size_t i = 0; i < n.outputs.size(); ++i)
        EXPECT_EQ(g.value(n.outputs[i]).type.dtype,
                  (keep_f32 && i < 3) ? DType::kF32 : DType::kBF16);
      auto variants = testing::SharedCompiler().NumVariants(codegen::KernelSpec::FromNode(g, n));
      ASSERT_TRUE(variants.ok()) << variants.status();
      most = std::max(most, *variants);
    }
    EXPECT_EQ(kernels, 2);
    EXPECT_GE(most, 2);  // the Halide kernel and AMX's at least
    int casts = 0;       // of the attention's results (q, k and v are cast for it)
    for (const ir::Node& n : g.nodes())
      casts += n.op == Op::kCast && g.node(g.value(n.inputs[0]).producer).op != Op::kInput;
    EXPECT_EQ(casts, keep_f32 ? 1 : 0);  // the forward's: one result, no copy
    const ir::LiteralMap args = testing::RandomArgs(g, 19, 2);
    auto want = ir::Interpret(g, args);
    ASSERT_TRUE(want.ok()) << want.status();
    for (int v = 0; v < most; ++v) {  // each kernel on variant v, or its last
      SCOPED_TRACE(absl::StrCat("variant ", v));
      codegen::CompilerOptions o;
      o.cache_dir = testing::TestCacheDir();
      o.variant = v;
      auto compiler = codegen::KernelCompiler::Create(o);
      ASSERT_TRUE(compiler.ok()) << compiler.status();
      auto jit = testing::RunOnJit(g, args, **compiler);
      ASSERT_TRUE(jit.ok()) << jit.status();
      EXPECT_EQ(ExpectRoundedAsTheInterpreter(*jit, *want, 1e-4), 4 * 2 * 2 * 64 * 32);
    }
  }
  codegen::SetAmxGemmMode(before);
}

// The tuner times every variant on one set of scratch buffers, each with the type of the IR
// value it stands for: the attention backward with copies binds f32 results and bf16 copies,
// and a buffer typed by position once took f32 stores into bf16-sized memory (heap
// corruption on a cold cache only; a warm one skips the tuner). Tuned here in a fresh cache,
// AMX emulated, whose variant sees the results through other views than the Halide kernels.
TEST(StoredBF16, TunerTimesVariantsOnBuffersOfTheirOwnTypesAndViews) {
  const codegen::AmxMode before = codegen::AmxGemmMode();
  codegen::SetAmxGemmMode(codegen::AmxMode::kEmulated);
  const ir::Graph g = AttentionStoringBF16(2, 2, 64, 32, /*keep_f32=*/true);
  const std::string cache = ::testing::TempDir() + "/tuner-fresh-cache";
  std::filesystem::remove_all(cache);
  codegen::CompilerOptions o;
  o.cache_dir = cache;
  auto compiler = codegen::KernelCompiler::Create(o);
  ASSERT_TRUE(compiler.ok()) << compiler.status();
  const ir::LiteralMap args = testing::RandomArgs(g, 31, 2);
  auto want = ir::Interpret(g, args);
  ASSERT_TRUE(want.ok()) << want.status();
  auto jit = testing::RunOnJit(g, args, **compiler);
  ASSERT_TRUE(jit.ok()) << jit.status();
  EXPECT_GE((*compiler)->stats().tuned, 2);  // both attention kernels chose by timing
  EXPECT_EQ(ExpectRoundedAsTheInterpreter(*jit, *want, 1e-4), 4 * 2 * 2 * 64 * 32);
  std::filesystem::remove_all(cache);
  codegen::SetAmxGemmMode(before);
}

// A plain matmul storing bf16 (dtype="bf16"), on every path.
TEST(NarrowGemmResults, PlainGemmStoresItsResultRoundedOnEveryPath) {
  ExpectEveryGemmPathRounds(Parse(R"(graph g(%x: bf16[128,256], %w: bf16[96,256]) {
  %y = bf16[128,96] matmul(%x, %w) dtype="bf16" transpose_b=true
  return %y
})"),
                            128, 96, 256);
}

// A saved bf16 pre-activation widened once and read by the GELU backward and the GELU
// recomputation (both kLoadsBF16), and another widened value one plain add also reads.
const char* kWidened = R"(graph g(%s: bf16[4,24], %b: f32[24], %dy: bf16[4,24], %t: bf16[4,24]) {
  %x = f32[4,24] cast(%s) dtype="f32"
  %d = f32[4,24] cast(%dy) dtype="f32"
  %dx = f32[4,24] bias_gelu_grad(%x, %b, %d) {
    %bb = f32[4,24] broadcast(%b) shape=[4,24]
    %pre = f32[4,24] add(%x, %bb)
    %dx = f32[4,24] gelu_grad(%pre, %d)
    yield %dx
  }
  %y = f32[4,24] bias_gelu(%x, %b) {
    %bb = f32[4,24] broadcast(%b) shape=[4,24]
    %pre = f32[4,24] add(%x, %bb)
    %y = f32[4,24] gelu(%pre)
    yield %y
  }
  %w = f32[4,24] cast(%t) dtype="f32"
  %z = f32[4,24] bias_gelu(%w, %b) {
    %bb = f32[4,24] broadcast(%b) shape=[4,24]
    %pre = f32[4,24] add(%w, %bb)
    %z = f32[4,24] gelu(%pre)
    yield %z
  }
  %u = f32[4,24] add(%w, %w)
  return %dx, %y, %z, %u
})";

TEST(LoadedBF16, WideningCastsMoveIntoConsumersThatAllWiden) {
  ir::Graph g = Parse(kWidened);
  auto out = passes::LoadCastsInConsumers(g);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE(ir::Verify(*out).ok()) << ir::Verify(*out);
  int casts = 0;
  for (const ir::Node& n : out->nodes()) {
    if (n.op == Op::kCast) {
      ++casts;  // only %w's: the add reads it too
      EXPECT_EQ(out->value(n.outputs[0]).name, "w");
    }
    if (n.op == Op::kBiasGeluGrad) {  // x and dy read in bf16, each widened first
      EXPECT_EQ(out->value(n.inputs[0]).name, "s");
      EXPECT_EQ(out->value(n.inputs[2]).name, "dy");
      EXPECT_EQ(n.body->node(n.body->Inputs().size()).op, Op::kCast);
    }
  }
  EXPECT_EQ(casts, 1);
  const ir::LiteralMap args = testing::RandomArgs(g, 3, 2);
  auto before = ir::Interpret(g, args), after = ir::Interpret(*out, args);
  ASSERT_TRUE(before.ok() && after.ok());
  for (size_t i = 0; i < before->size(); ++i) EXPECT_EQ((*before)[i].data, (*after)[i].data) << i;
}

TEST(LoadedBF16, TheVerifierAcceptsALeadingCastOnlyWhereTheKernelWidens) {
  // add_layernorm's kernel reads f32 operands only.
  ExpectRejected(R"(graph g(%a: bf16[2,8], %b: f32[2,8], %w: f32[8], %c: f32[8]) {
  %s, %y = f32[2,8], f32[2,8] add_layernorm(%a, %b, %w, %c) eps=1e-05 {
    %a32 = f32[2,8] cast(%a) dtype="f32"
    %s = f32[2,8] add(%a32, %b)
    %y = f32[2,8] layernorm(%s, %w, %c) eps=1e-05
    yield %s, %y
  }
  return %s, %y
})",
                 "add_layernorm: body must be");
}

// The kernels widen as the interpreter does (exactly: bf16 to f32 is exact), so the GELU
// backward and forward agree with it to f32 rounding.
TEST(LoadedBF16, KernelsWidenTheirOperandsAsTheInterpreter) {
  auto g = passes::LoadCastsInConsumers(Parse(kWidened));
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::LiteralMap args = testing::RandomArgs(*g, 9, 2);
  testing::Mismatch m = testing::CompareWithInterpreter(*g, args);
  EXPECT_LE(m.worst_rel, 1e-5) << "worst at " << m.where;
}

}  // namespace
}  // namespace gptc
