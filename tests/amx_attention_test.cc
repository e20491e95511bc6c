// The fused attention's mixed-precision form (bf16 q, k, v; every product reads bf16) and
// its AMX kernels (codegen/amx_attention.h): the Halide kernel and the AMX one, on emulated
// tiles (every CPU) and on the hardware's (where AMX is granted; else skipped naming the
// missing flag), against the interpreter running the body; and whole bf16 train steps, plain
// and grouped-query, with their attention on emulated tiles.
#include "codegen/amx_attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codegen/amx_gemm.h"
#include "codegen/cpu_info.h"
#include "codegen/host_target.h"
#include "codegen/kernel_spec.h"
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/nn/llama.h"
#include "frontend/nn/llama_config.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/verifier.h"
#include "passes/mixed_precision.h"
#include "passes/train_graphs.h"
#include "tests/jit_test_util.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

// Forward and backward attention over [b, h, t, d] as the bf16 pass leaves them; scale
// 1/sqrt(d) unless given.
ir::Graph Bf16Attention(int64_t b, int64_t h, int64_t t, int64_t d, double scale = 0) {
  const std::string x = testing::F32Type({b, h, t, d});
  auto g = ir::ParseGraph(absl::StrCat(
      "graph g(%q: ", x, ", %k: ", x, ", %v: ", x, ", %dy: ", x, ") {\n",
      testing::AttentionOpsText(b, h, t, d, scale > 0 ? scale : 1 / std::sqrt(double(d))),
      "  return %y, %dq, %dk, %dv\n}"));
  EXPECT_TRUE(g.ok()) << g.status();
  auto bf16 = passes::CastEveryGemmOperand(*g, ir::DType::kBF16);
  EXPECT_TRUE(bf16.ok()) << bf16.status();
  return *bf16;
}

// Restores the AMX mode a test changed.
struct AmxModeScope {
  explicit AmxModeScope(codegen::AmxMode m) : before(codegen::AmxGemmMode()) {
    codegen::SetAmxGemmMode(m);
  }
  ~AmxModeScope() { codegen::SetAmxGemmMode(before); }
  codegen::AmxMode before;
};

// The graph with each attention kernel on its schedule variant `v` (its last where it has
// fewer; 1000: every kernel's last): the kernels' schedule names, forward then backward,
// and the largest difference from the interpreter on random inputs.
std::pair<std::string, double> RunVariant(const ir::Graph& g, int v) {
  codegen::CompilerOptions o;
  o.cache_dir = testing::TestCacheDir();
  o.variant = v;
  auto compiler = codegen::KernelCompiler::Create(o);
  EXPECT_TRUE(compiler.ok()) << compiler.status();
  std::string schedule;
  for (const ir::Node& n : g.nodes()) {
    if (n.op != ir::Op::kCausalAttention && n.op != ir::Op::kCausalAttentionGrad) continue;
    auto namer = codegen::KernelCompiler::Create(o);  // its own JIT: Build() loads the kernel
    EXPECT_TRUE(namer.ok());
    const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(g, n);
    auto variants = (*namer)->NumVariants(spec);
    EXPECT_TRUE(variants.ok()) << variants.status();
    auto kernel = (*namer)->Build(spec, std::min(v, *variants - 1));
    EXPECT_TRUE(kernel.ok()) << kernel.status();
    if (kernel.ok()) absl::StrAppend(&schedule, schedule.empty() ? "" : ", ", (*kernel)->schedule);
  }
  const testing::Mismatch m =
      testing::CompareWithInterpreter(g, testing::RandomArgs(g, 11, 1), **compiler);
  EXPECT_TRUE(std::isfinite(m.worst_rel)) << m.where;
  return {schedule, m.worst_rel};
}

// The pass's rewrite verifies as the templates' mixed-precision form, and its rounding
// points are what the kernels must reproduce: the Halide kernel (no AMX) matches the
// interpreter at shapes AMX takes and shapes it does not. With the same rounding points
// only the sums' order and exp differ (measured: below 4e-7), where a kernel that rounds
// elsewhere is off by bf16 steps (~1e-3).
TEST(Bf16Attention, HalideKernelsMatchTheMixedPrecisionBody) {
  AmxModeScope off(codegen::AmxMode::kOff);
  for (const auto& [b, h, t, d] :
       std::vector<std::array<int64_t, 4>>{{2, 2, 64, 32}, {1, 3, 24, 20}, {1, 1, 7, 5}}) {
    SCOPED_TRACE(absl::StrCat(b, "x", h, "x", t, "x", d));
    const ir::Graph g = Bf16Attention(b, h, t, d);
    ASSERT_TRUE(ir::Verify(g).ok()) << ir::Verify(g);
    const auto [schedule, worst] = RunVariant(g, 0);
    EXPECT_LE(worst, 1e-4) << schedule;
  }
}

void ExpectAmxKernelsClose(codegen::AmxMode mode, const std::string& name) {
  AmxModeScope scope(mode);
  for (const auto& [b, h, t, d] :
       std::vector<std::array<int64_t, 4>>{{2, 2, 64, 32}, {1, 3, 96, 64}, {1, 1, 32, 128}}) {
    SCOPED_TRACE(absl::StrCat(b, "x", h, "x", t, "x", d));
    const ir::Graph g = Bf16Attention(b, h, t, d);
    const auto [schedule, worst] = RunVariant(g, 1000);
    EXPECT_EQ(schedule, absl::StrCat(name, ", ", name));
    EXPECT_LE(worst, 1e-4) << schedule;
  }
}

TEST(Bf16Attention, EmulatedAmxKernelsMatchTheInterpreter) {
  ExpectAmxKernelsClose(codegen::AmxMode::kEmulated, "amx (emulated)");
}

// Large scores (scale 4 on N(0,1) inputs: rows of exp() spanning e^+-40 and beyond, where the
// vector exp's clamp and scalef take over): finite and equal to the interpreter.
TEST(Bf16Attention, EmulatedAmxKernelsStayFiniteOnLargeScores) {
  AmxModeScope scope(codegen::AmxMode::kEmulated);
  const auto [schedule, worst] = RunVariant(Bf16Attention(1, 2, 64, 32, 4.0), 1000);
  EXPECT_EQ(schedule, "amx (emulated), amx (emulated)");
  EXPECT_LE(worst, 1e-4);
}

TEST(Bf16Attention, HardwareAmxKernelsMatchTheInterpreter) {
  if (!codegen::RequestAmx().ok) GTEST_SKIP() << codegen::RequestAmx().why;
  ExpectAmxKernelsClose(codegen::AmxMode::kHardware, "amx");
}

// The kernels with products on vdpbf16ps (where the CPU has avx512_bf16; blocks of 16
// queries, head dims in whole vectors): the forward's two, the backward's S and dP. The same
// rounding points, so as close as the others.
TEST(Bf16Attention, DotProductKernelsMatchTheInterpreter) {
  if (!codegen::HostHasBF16Dot()) GTEST_SKIP() << "this CPU has no avx512_bf16";
  AmxModeScope off(codegen::AmxMode::kOff);
  for (const auto& [b, h, t, d] :
       std::vector<std::array<int64_t, 4>>{{2, 2, 64, 32}, {1, 3, 48, 64}, {1, 1, 16, 16}}) {
    SCOPED_TRACE(absl::StrCat(b, "x", h, "x", t, "x", d));
    const auto [schedule, worst] = RunVariant(Bf16Attention(b, h, t, d), 1);
    EXPECT_EQ(schedule, "halide bf16 dot, halide bf16 dot");
    EXPECT_LE(worst, 1e-4);
  }
  const auto [schedule, worst] = RunVariant(Bf16Attention(1, 2, 32, 16, 4.0), 1);
  EXPECT_LE(worst, 1e-4) << "large scores";
}

// The candidates: the Halide kernel; with avx512_bf16 and blocks of 16 queries, the one on
// vdpbf16ps; with AMX on (or emulated) and whole tiles of positions and head dims, AMX's.
// fp32 attention has only the first.
TEST(Bf16Attention, VariantsOnlyWhereTheyApply) {
  EXPECT_TRUE(codegen::AmxAttentionFits(64, 32));
  EXPECT_FALSE(codegen::AmxAttentionFits(48, 32));
  EXPECT_FALSE(codegen::AmxAttentionFits(64, 48));
  auto variants = [](const ir::Graph& g) {
    auto n =
        testing::SharedCompiler().NumVariants(codegen::KernelSpec::FromNode(g, g.nodes().back()));
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  };
  const int dot = codegen::HostHasBF16Dot() ? 1 : 0;
  AmxModeScope emulated(codegen::AmxMode::kEmulated);
  EXPECT_EQ(variants(Bf16Attention(1, 2, 64, 32)), 1 + dot + 1);
  EXPECT_EQ(variants(Bf16Attention(1, 2, 48, 32)), 1 + dot);  // 48 rows: no whole AMX tiles
  EXPECT_EQ(variants(Bf16Attention(1, 2, 24, 32)), 1);        // blocks of 8 queries
  const std::string x = testing::F32Type({1, 2, 64, 32});
  auto f32 = ir::ParseGraph(absl::StrCat("graph g(%q: ", x, ", %k: ", x, ", %v: ", x, ", %dy: ", x,
                                         ") {\n", testing::AttentionOpsText(1, 2, 64, 32, 0.125),
                                         "  return %y, %dq, %dk, %dv\n}"));
  ASSERT_TRUE(f32.ok()) << f32.status();
  EXPECT_EQ(variants(*f32), 1) << "fp32 attention has no bf16 kernel";
  codegen::SetAmxGemmMode(codegen::AmxMode::kOff);
  EXPECT_EQ(variants(Bf16Attention(1, 2, 64, 32)), 1 + dot);
}

// A whole bf16 train step (unplanned: every value compared) with every multi-variant kernel on
// its last variant, in AMX mode `mode`: both attention kernels must be on `schedule` (q, k
// and v views of the qkv projection's bf16 copy); against the interpreter, tolerance as the
// bf16 step test.
void ExpectStepOnLastVariantsClose(const ir::Graph& forward, codegen::AmxMode mode,
                                   const std::string& schedule) {
  passes::StepOptions o;
  o.gemm_dtype = ir::DType::kBF16;
  o.plan = false;
  auto g = passes::BuildTrainStep(forward, o);
  ASSERT_TRUE(g.ok()) << g.status();
  AmxModeScope scope(mode);
  int on = 0;
  for (const ir::Node& n : g->nodes()) {
    if (n.op != ir::Op::kCausalAttention && n.op != ir::Op::kCausalAttentionGrad) continue;
    const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(*g, n);
    auto variants = testing::SharedCompiler().NumVariants(spec);
    ASSERT_TRUE(variants.ok()) << variants.status();
    auto last = testing::SharedCompiler().Build(spec, *variants - 1);
    ASSERT_TRUE(last.ok()) << last.status();
    on += (*last)->schedule == schedule;
  }
  EXPECT_EQ(on, 2) << "the forward and backward attention on " << schedule;
  const testing::Mismatch m = testing::CompareStepOnLastVariants(*g);
  EXPECT_LT(m.worst_rel, 1e-2) << m.where;
}

LlamaConfig GroupedQueryLlama() {
  LlamaConfig c = *LlamaPreset("tiny-llama");
  c.n_embd = 128, c.n_head = 4, c.n_kv_head = 2, c.n_layer = 1, c.block_size = 32;
  c.batch_size = 2;
  return c;
}

TEST(Bf16Attention, GptTrainStepOnEmulatedTilesMatchesTheInterpreter) {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.n_embd = 64, cfg.n_head = 2, cfg.n_layer = 1, cfg.block_size = 64, cfg.batch_size = 2;
  auto model = nn::BuildGpt(cfg);
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectStepOnLastVariantsClose(model->graph, codegen::AmxMode::kEmulated, "amx (emulated)");
}

// Grouped-query attention: k and v have half the heads; the kernel reads head h / 2.
TEST(Bf16Attention, GroupedQueryTrainStepOnEmulatedTilesMatchesTheInterpreter) {
  const LlamaConfig c = GroupedQueryLlama();
  auto f = nn::BuildLlama(c, c.batch_size);
  ASSERT_TRUE(f.ok()) << f.status();
  ExpectStepOnLastVariantsClose(f->graph, codegen::AmxMode::kEmulated, "amx (emulated)");
}

// The vdpbf16ps kernels in a grouped-query train step (k and v read at head h / 2), AMX off
// so that each attention kernel's last candidate is the dot-product one.
TEST(Bf16Attention, GroupedQueryTrainStepOnDotKernelsMatchesTheInterpreter) {
  if (!codegen::HostHasBF16Dot()) GTEST_SKIP() << "this CPU has no avx512_bf16";
  const LlamaConfig c = GroupedQueryLlama();
  auto f = nn::BuildLlama(c, c.batch_size);
  ASSERT_TRUE(f.ok()) << f.status();
  ExpectStepOnLastVariantsClose(f->graph, codegen::AmxMode::kOff, "halide bf16 dot");
}

}  // namespace
}  // namespace gptc
