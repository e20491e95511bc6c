// The AMX GEMM (codegen/amx_gemm.h): its packed layout, the driver against a float64
// reference on emulated tiles (every CPU) and on the hardware's (where AMX is granted; else
// skipped naming the missing flag), and the matmul lowering's AMX candidates against the
// interpreter.
#include "codegen/amx_gemm.h"

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codegen/amx_pack.h"
#include "codegen/cpu_info.h"
#include "codegen/kernel_spec.h"
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/rng.h"
#include "ir/types.h"
#include "passes/train_graphs.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

using codegen::AmxBlocking;
using codegen::AmxProblem;
using codegen::Bf16View;

std::vector<uint16_t> RandomBf16(int64_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint16_t> v(count);
  for (uint16_t& x : v) x = ir::BF16Bits(static_cast<float>(rng.Normal(0, 1)));
  return v;
}

TEST(AmxGemm, PacksBAsPairsOfKRowsInterleavedPerColumn) {
  const int64_t k = 70, n = 50, kt = 3;  // padded to 96 x 64
  const std::vector<uint16_t> b = RandomBf16(k * n, 1);
  for (bool transposed : {false, true}) {
    SCOPED_TRACE(transposed ? "stored [n][k]" : "stored [k][n]");
    std::vector<uint16_t> bt(k * n);
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t c = 0; c < n; ++c) bt[c * k + kk] = b[kk * n + c];
    std::vector<uint16_t> packed(64 * 96, 0xffff);
    codegen::PackB(transposed ? Bf16View{bt.data(), 1, k} : Bf16View{b.data(), n, 1}, k, n,
                   packed.data());
    std::vector<bool> seen(packed.size(), false);
    for (int64_t kk = 0; kk < 96; ++kk) {
      for (int64_t c = 0; c < 64; ++c) {
        const int64_t at = codegen::PackedBIndex(kk, c, kt);
        ASSERT_LT(at, static_cast<int64_t>(packed.size()));
        EXPECT_FALSE(seen[at]) << "two elements at " << at;
        seen[at] = true;
        EXPECT_EQ(packed[at], kk < k && c < n ? b[kk * n + c] : 0) << kk << "," << c;
      }
    }
  }
  // A tile row is 16 columns of K pairs: (k, c) and (k + 1, c) are adjacent.
  EXPECT_EQ(codegen::PackedBIndex(5, 3, kt), codegen::PackedBIndex(4, 3, kt) + 1);
  EXPECT_EQ(codegen::PackedBIndex(4, 4, kt), codegen::PackedBIndex(4, 3, kt) + 2);
}

// One K tile at a time (the attention backward packs dS and P block by block): the same
// elements where PackB would put them, whole and partial column bands alike.
TEST(AmxGemm, PacksOneKTileOfBWherePackBPutsIt) {
  const int64_t k = 96, n = 50, kt = 3;
  const std::vector<uint16_t> b = RandomBf16(k * n, 2);
  std::vector<uint16_t> whole(64 * 96, 0xffff), tiles(64 * 96, 0xffff);
  codegen::PackB(Bf16View{b.data(), n, 1}, k, n, whole.data());
  for (int64_t kb = 0; kb < kt; ++kb)
    codegen::PackBTile(Bf16View{b.data() + kb * 32 * n, n, 1}, n, kt, kb, tiles.data());
  EXPECT_EQ(tiles, whole);
}

// A's tiles: 16 rows x 32 K; the same layout whether A is stored row-major or transposed
// (the AVX-512 path interleaves K rows and transposes pairs), with zero padding.
TEST(AmxGemm, PacksATilesOfRowsOfKFromEitherStorage) {
  const int64_t m = 50, k = 70, kt = 3, mp = 64;
  const std::vector<uint16_t> a = RandomBf16(m * k, 4);
  for (bool transposed : {false, true}) {
    SCOPED_TRACE(transposed ? "stored [k][m]" : "stored [m][k]");
    const Bf16View view = transposed ? Bf16View{a.data(), 1, m} : Bf16View{a.data(), k, 1};
    std::vector<uint16_t> packed(mp * kt * 32, 0xffff);
    codegen::PackA(view, m, k, mp, packed.data());
    for (int64_t r = 0; r < mp; ++r) {
      for (int64_t kk = 0; kk < kt * 32; ++kk) {
        const uint16_t want =
            r < m && kk < k ? (transposed ? a[kk * m + r] : a[r * k + kk]) : uint16_t{0};
        ASSERT_EQ(packed[codegen::PackedAIndex(r, kk, kt)], want) << r << "," << kk;
      }
    }
  }
}

struct Case {
  int64_t m, n, k;
  bool ta, tb, bias;
  AmxBlocking blocking;
};

// Runs one product on the chosen tiles and checks every output against float64 sums of the
// same bf16 values: only the f32 accumulation differs.
void ExpectMatchesReference(const Case& c, bool emulated) {
  SCOPED_TRACE(absl::StrCat(c.m, "x", c.n, "x", c.k, c.ta ? " A^T" : "", c.tb ? " B^T" : "",
                            c.bias ? " bias" : "", " blocks ", c.blocking.mb, "x", c.blocking.nb,
                            " kc=", c.blocking.kc));
  const std::vector<uint16_t> a = RandomBf16(c.m * c.k, 2), b = RandomBf16(c.k * c.n, 3);
  std::vector<float> bias(c.n);
  for (int64_t j = 0; j < c.n; ++j) bias[j] = 0.25f * static_cast<float>(j % 7);
  AmxProblem p;
  p.m = c.m, p.n = c.n, p.k = c.k;
  // op(A)(i, kk): stored [m][k], or [k][m] when transposed; likewise op(B)(kk, j).
  p.a = c.ta ? Bf16View{a.data(), 1, c.m} : Bf16View{a.data(), c.k, 1};
  p.b = c.tb ? Bf16View{b.data(), 1, c.k} : Bf16View{b.data(), c.n, 1};
  const int64_t ld = c.n + 3;  // a strided output: the padding must stay untouched
  std::vector<float> out(c.m * ld, -7.0f);
  p.out = out.data();
  p.out_rs = ld;
  p.bias = c.bias ? bias.data() : nullptr;
  codegen::AmxGemm(p, c.blocking, emulated);
  double worst = 0;
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      double want = c.bias ? bias[j] : 0, scale = 1;
      for (int64_t kk = 0; kk < c.k; ++kk) {
        const double x = ir::BF16Value(c.ta ? a[kk * c.m + i] : a[i * c.k + kk]);
        const double y = ir::BF16Value(c.tb ? b[j * c.k + kk] : b[kk * c.n + j]);
        want += x * y;
        scale += std::abs(x * y);
      }
      worst = std::max(worst, std::abs(out[i * ld + j] - want) / scale);
    }
    for (int64_t j = c.n; j < ld; ++j) ASSERT_EQ(out[i * ld + j], -7.0f) << "row " << i;
  }
  EXPECT_LT(worst, 1e-6);
}

std::vector<Case> Cases() {
  return {
      {64, 64, 64, false, false, false, {64, 64, 64}},       // A in place, one block
      {96, 128, 320, false, true, true, {64, 64, 128}},      // A in place, K in 3 chunks
      {37, 50, 70, false, false, true, {64, 64, 512}},       // every edge padded
      {100, 72, 200, true, false, false, {32, 64, 64}},      // A^T (packed), partial blocks
      {45, 96, 66, true, true, false, {128, 32, 1024}},      // both transposed
      {256, 96, 1088, false, false, false, {128, 64, 512}},  // long K, several tasks
  };
}

TEST(AmxGemm, EmulatedTilesMatchTheReference) {
  for (const Case& c : Cases()) ExpectMatchesReference(c, /*emulated=*/true);
}

TEST(AmxGemm, HardwareTilesMatchTheReference) {
  if (!codegen::RequestAmx().ok) GTEST_SKIP() << codegen::RequestAmx().why;
  for (const Case& c : Cases()) ExpectMatchesReference(c, /*emulated=*/false);
}

TEST(AmxGemm, BlockingCandidatesAreWholeTilesWithinTheProduct) {
  for (const auto& [m, n, k] :
       std::vector<std::array<int64_t, 3>>{{8192, 384, 1536}, {384, 1536, 8192}, {40, 20, 100}}) {
    const std::vector<AmxBlocking> cands = codegen::AmxBlockingCandidates(m, n, k);
    ASSERT_FALSE(cands.empty());
    for (const AmxBlocking& b : cands) {
      EXPECT_EQ(b.mb % 32, 0);
      EXPECT_EQ(b.nb % 32, 0);
      EXPECT_EQ(b.kc % 32, 0);
      EXPECT_LE(b.mb, (m + 31) / 32 * 32);
      EXPECT_LE(b.nb, (n + 31) / 32 * 32);
      EXPECT_LE(b.kc, (k + 31) / 32 * 32);
    }
  }
}

// A bf16 GEMM as the mixed-precision pass writes it: operands cast to bf16, optionally a
// batch of `batch` and a bias added in the write-out (matmul_bias).
ir::Graph CastGemm(bool ta, bool tb, int64_t batch, bool bias, int64_t m, int64_t k, int64_t n) {
  auto shape = [&](int64_t r, int64_t c) {
    return batch ? absl::StrCat("[", batch, ",", r, ",", c, "]")
                 : absl::StrCat("[", r, ",", c, "]");
  };
  const std::string as = ta ? shape(k, m) : shape(m, k), bs = tb ? shape(n, k) : shape(k, n);
  const std::string ys = shape(m, n);
  std::string attrs;
  if (ta) attrs += " transpose_a=true";
  if (tb) attrs += " transpose_b=true";
  std::string text =
      absl::StrCat("graph g(%x: f32", as, ", %w: f32", bs,
                   bias ? absl::StrCat(", %v: f32[", n, "]") : "", ") {\n", "  %xb = bf16", as,
                   " cast(%x) dtype=\"bf16\"\n", "  %wb = bf16", bs, " cast(%w) dtype=\"bf16\"\n");
  if (bias) {
    absl::StrAppend(&text, "  %y = f32", ys, " matmul_bias(%xb, %wb, %v)", attrs, " {\n",
                    "    %m = f32", ys, " matmul(%xb, %wb)", attrs, "\n", "    %vb = f32", ys,
                    " broadcast(%v) shape=", ys, "\n", "    %y = f32", ys,
                    " add(%m, %vb)\n    yield %y\n  }\n");
  } else {
    absl::StrAppend(&text, "  %y = f32", ys, " matmul(%xb, %wb)", attrs, "\n");
  }
  absl::StrAppend(&text, "  return %y\n}");
  auto g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status() << "\n" << text;
  return *g;
}

// The lowering offers the AMX blockings as the last variants of a bf16 matmul; each, run as
// an extern stage inside the compiled pipeline, matches the interpreter. Emulated tiles here,
// so this runs on every CPU; the hardware's where AMX is granted.
void ExpectAmxVariantsClose(codegen::AmxMode mode) {
  const codegen::AmxMode before = codegen::AmxGemmMode();
  codegen::SetAmxGemmMode(mode);
  struct G {
    bool ta, tb;
    int64_t batch;
    bool bias;
    int64_t m, k, n;
  };
  for (const G& c :
       {G{false, false, 0, true, 128, 128, 128}, G{false, true, 0, false, 100, 200, 112},
        G{true, false, 0, false, 96, 160, 144}, G{false, false, 3, false, 64, 96, 128}}) {
    SCOPED_TRACE(absl::StrCat(c.m, "x", c.k, "x", c.n, c.ta ? " A^T" : "", c.tb ? " B^T" : "",
                              c.batch ? " batched" : "", c.bias ? " bias" : ""));
    const ir::Graph g = CastGemm(c.ta, c.tb, c.batch, c.bias, c.m, c.k, c.n);
    const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(g, g.nodes().back());
    auto variants = testing::SharedCompiler().NumVariants(spec);
    ASSERT_TRUE(variants.ok()) << variants.status();
    const int amx = static_cast<int>(codegen::AmxBlockingCandidates(c.m, c.n, c.k).size());
    ASSERT_GT(*variants, amx);
    for (int v = *variants - amx; v < *variants; ++v) {
      codegen::CompilerOptions o;
      o.cache_dir = testing::TestCacheDir();
      o.variant = v;
      auto compiler = codegen::KernelCompiler::Create(o);
      ASSERT_TRUE(compiler.ok()) << compiler.status();
      auto namer = codegen::KernelCompiler::Create(o);  // its own JIT: Build() loads the kernel
      ASSERT_TRUE(namer.ok()) << namer.status();
      auto kernel = (*namer)->Build(spec, v);
      ASSERT_TRUE(kernel.ok()) << kernel.status();
      EXPECT_TRUE(absl::StartsWith(
          (*kernel)->schedule, mode == codegen::AmxMode::kEmulated ? "amx (emulated) " : "amx "))
          << (*kernel)->schedule;
      const testing::Mismatch mm =
          testing::CompareWithInterpreter(g, testing::RandomArgs(g, 5, 5), **compiler);
      EXPECT_LE(mm.worst_rel, 1e-5) << (*kernel)->schedule << ": worst at " << mm.where;
    }
  }
  codegen::SetAmxGemmMode(before);
}

TEST(AmxGemm, EmulatedVariantsOfEveryFormMatchTheInterpreter) {
  ExpectAmxVariantsClose(codegen::AmxMode::kEmulated);
}

TEST(AmxGemm, HardwareVariantsOfEveryFormMatchTheInterpreter) {
  if (!codegen::RequestAmx().ok) GTEST_SKIP() << codegen::RequestAmx().why;
  ExpectAmxVariantsClose(codegen::AmxMode::kHardware);
}

TEST(AmxGemm, OffGivesNoAmxCandidates) {
  const codegen::AmxMode before = codegen::AmxGemmMode();
  codegen::SetAmxGemmMode(codegen::AmxMode::kOff);
  const ir::Graph g = CastGemm(false, false, 0, false, 128, 128, 128);
  const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(g, g.nodes().back());
  auto off = testing::SharedCompiler().NumVariants(spec);
  codegen::SetAmxGemmMode(codegen::AmxMode::kEmulated);
  auto emulated = testing::SharedCompiler().NumVariants(spec);
  codegen::SetAmxGemmMode(before);
  ASSERT_TRUE(off.ok() && emulated.ok());
  EXPECT_EQ(*emulated - *off,
            static_cast<int>(codegen::AmxBlockingCandidates(128, 128, 128).size()));
}

// A bf16 GPT train step (small, but with GEMMs big enough to get AMX candidates) compiled
// with every multi-variant kernel on its last variant: each eligible GEMM on emulated AMX
// tiles, inside the step's kernels, against the interpreter (tolerance as for the bf16 step).
TEST(AmxGemm, TrainStepOnEmulatedTilesMatchesTheInterpreter) {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.n_embd = 64, cfg.n_head = 2, cfg.n_layer = 1, cfg.block_size = 64, cfg.batch_size = 4;
  auto model = nn::BuildGpt(cfg);
  ASSERT_TRUE(model.ok()) << model.status();
  passes::StepOptions o;
  o.gemm_dtype = ir::DType::kBF16;
  o.plan = false;  // one buffer per value, so that every value can be compared
  auto g = passes::BuildTrainStep(model->graph, o);
  ASSERT_TRUE(g.ok()) << g.status();
  const codegen::AmxMode before = codegen::AmxGemmMode();
  codegen::SetAmxGemmMode(codegen::AmxMode::kEmulated);
  int amx_gemms = 0;
  for (const ir::Node& n : g->nodes()) {
    if (n.op != ir::Op::kMatMul && n.op != ir::Op::kMatMulBias) continue;
    const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(*g, n);
    auto variants = testing::SharedCompiler().NumVariants(spec);
    ASSERT_TRUE(variants.ok()) << variants.status();
    auto last = testing::SharedCompiler().Build(spec, *variants - 1);
    ASSERT_TRUE(last.ok()) << last.status();
    amx_gemms += absl::StartsWith((*last)->schedule, "amx (emulated)");
  }
  EXPECT_GE(amx_gemms, 4) << "the forward, input-gradient and weight-gradient GEMMs";
  const testing::Mismatch m = testing::CompareStepOnLastVariants(*g);
  codegen::SetAmxGemmMode(before);
  EXPECT_LT(m.worst_rel, 1e-2) << m.where;
}

}  // namespace
}  // namespace gptc
