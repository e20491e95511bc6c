// Google Benchmark of the AMX GEMM (codegen/amx_gemm.h) at the baby preset's train-step shapes
// (B*T = 2048 rows, 384 wide): the forward x W, the input gradient dy W^T and the weight
// gradient x^T dy, each blocking candidate, as GFLOP/s and as a fraction of the AMX peak
// measured at start on the same threads (counter `of_amx_peak`). Where AMX is off the GEMMs
// are skipped with the reason (the missing CPU flag); the packing benchmarks run on every
// CPU (bytes/s of bf16 read and written).
//
//   build/bench/amx_gemm_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/peak_flops.h"
#include "codegen/amx_gemm.h"
#include "codegen/amx_pack.h"
#include "codegen/cpu_info.h"
#include "codegen/spin_pool.h"

namespace gptc {
namespace {

int Threads() { return codegen::SpinPool::Get().threads(); }

double AmxPeak() {
  static const double peak = MeasureAmxPeakGflops(Threads());
  return peak;
}

struct Form {
  const char* name;
  int64_t m, n, k;
  bool ta, tb;
};
const Form kForms[] = {
    {"x.W qkv", 2048, 1152, 384, false, false},   {"x.W fc", 2048, 1536, 384, false, false},
    {"x.W proj", 2048, 384, 1536, false, false},  {"dy.W^T qkv", 2048, 384, 1152, false, true},
    {"x^T.dy qkv", 384, 1152, 2048, true, false}, {"x^T.dy fc", 384, 1536, 2048, true, false},
};

std::vector<uint16_t> Ones(int64_t n) { return std::vector<uint16_t>(n, 0x3f80); }

void BM_AmxGemm(benchmark::State& state, Form f, codegen::AmxBlocking blk) {
  if (!codegen::RequestAmx().ok) {
    state.SkipWithError(codegen::RequestAmx().why.c_str());
    return;
  }
  const std::vector<uint16_t> a = Ones(f.m * f.k), b = Ones(f.k * f.n);
  std::vector<float> out(f.m * f.n);
  codegen::AmxProblem p;
  p.m = f.m, p.n = f.n, p.k = f.k;
  p.a = f.ta ? codegen::Bf16View{a.data(), 1, f.m} : codegen::Bf16View{a.data(), f.k, 1};
  p.b = f.tb ? codegen::Bf16View{b.data(), 1, f.k} : codegen::Bf16View{b.data(), f.n, 1};
  p.out = out.data();
  p.out_rs = f.n;
  for (auto _ : state) codegen::AmxGemm(p, blk, /*emulated=*/false);
  const double flops = 2.0 * f.m * f.n * f.k;
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["of_amx_peak"] =
      benchmark::Counter(flops / 1e9 / AmxPeak(), benchmark::Counter::kIsRate);
}

// Packing alone: what each call pays before the tiles start.
void BM_PackB(benchmark::State& state, bool transposed) {
  const int64_t k = 2048, n = 1152;
  const std::vector<uint16_t> b = Ones(k * n);
  std::vector<uint16_t> packed(k * n);
  const codegen::Bf16View v =
      transposed ? codegen::Bf16View{b.data(), 1, k} : codegen::Bf16View{b.data(), n, 1};
  for (auto _ : state) codegen::PackB(v, k, n, packed.data());
  state.SetBytesProcessed(state.iterations() * k * n * 2 * 2);
}

void BM_PackA(benchmark::State& state, bool transposed) {
  const int64_t m = 384, k = 2048;
  const std::vector<uint16_t> a = Ones(m * k);
  std::vector<uint16_t> packed(m * k);
  const codegen::Bf16View v =
      transposed ? codegen::Bf16View{a.data(), 1, m} : codegen::Bf16View{a.data(), k, 1};
  for (auto _ : state) codegen::PackA(v, m, k, m, packed.data());
  state.SetBytesProcessed(state.iterations() * m * k * 2 * 2);
}

void Register() {
  for (const Form& f : kForms)
    for (const codegen::AmxBlocking& blk : codegen::AmxBlockingCandidates(f.m, f.n, f.k))
      benchmark::RegisterBenchmark(absl::StrCat("amx ", f.name, " ", f.m, "x", f.n, "x", f.k,
                                                " blocks ", blk.mb, "x", blk.nb, " kc=", blk.kc)
                                       .c_str(),
                                   BM_AmxGemm, f, blk)
          ->UseRealTime();
  benchmark::RegisterBenchmark("pack B [k][n] 2048x1152", BM_PackB, false)->UseRealTime();
  benchmark::RegisterBenchmark("pack B^T [n][k] 2048x1152", BM_PackB, true)->UseRealTime();
  benchmark::RegisterBenchmark("pack A [m][k] 384x2048", BM_PackA, false)->UseRealTime();
  benchmark::RegisterBenchmark("pack A^T [k][m] 384x2048", BM_PackA, true)->UseRealTime();
}

// Registered before Google Benchmark's own main() (benchmark::benchmark_main) runs them.
const bool kRegistered = (Register(), true);

}  // namespace
}  // namespace gptc
