#include "bench/peak_flops.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "codegen/cpu_info.h"

namespace gptc {
namespace {

// 12 independent chains of FMAs written out so they stay in registers: two FMA pipes with a
// latency of 4-5 cycles need at least 10 in flight. Returns a value so nothing is optimised
// away; flops per iteration are 12 chains x lanes x 2.
__attribute__((target("avx2,fma"))) float Fma256(long iters) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  __m256 c[12];
  for (int i = 0; i < 12; ++i) c[i] = _mm256_set1_ps(1.0f + i);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) c[i] = _mm256_fmadd_ps(c[i], a, b);
  }
  for (int i = 1; i < 12; ++i) c[0] = _mm256_add_ps(c[0], c[i]);
  float out[8];
  _mm256_storeu_ps(out, c[0]);
  return out[0];
}

// The same with 512-bit vectors: on this machine's AVX-512 cores each FMA does twice the work
// (measured 234 vs 118 GFLOP/s on one core), so an AVX2 loop would report half the peak.
__attribute__((target("avx512f"))) float Fma512(long iters) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  __m512 c[12];
  for (int i = 0; i < 12; ++i) c[i] = _mm512_set1_ps(1.0f + i);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) c[i] = _mm512_fmadd_ps(c[i], a, b);
  }
  for (int i = 1; i < 12; ++i) c[0] = _mm512_add_ps(c[0], c[i]);
  return _mm512_reduce_add_ps(c[0]);
}

// The bf16 dot product: each vdpbf16ps does 16 lanes x 2 pairs of multiply-adds = 64 FLOPs.
__attribute__((target("avx512f,avx512bf16"))) float Dot512(long iters) {
  const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80);  // (1, 1) in bf16
  const __m512bh b = (__m512bh)_mm512_set1_epi32(0x33d633d6);  // (1e-7, 1e-7)
  __m512 c[12];
  for (int i = 0; i < 12; ++i) c[i] = _mm512_set1_ps(1.0f + i);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) c[i] = _mm512_dpbf16_ps(c[i], a, b);
  }
  for (int i = 1; i < 12; ++i) c[0] = _mm512_add_ps(c[0], c[i]);
  return _mm512_reduce_add_ps(c[0]);
}

// AMX: each tdpbf16ps multiplies a 16 x 32 bf16 tile by a 32 x 16 one (pairs interleaved)
// into a 16 x 16 f32 tile, 16 * 16 * 32 * 2 = 16384 FLOPs. Four accumulators (tiles 0-3) from
// two A tiles (4, 5) and two B tiles (6, 7), so consecutive instructions are independent.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

__attribute__((target("amx-tile,amx-bf16"))) float AmxDot(long iters) {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) cfg.colsb[t] = 64, cfg.rows[t] = 16;
  _tile_loadconfig(&cfg);
  alignas(64) static const uint16_t operand[16 * 32] = {};  // zeros: timing only
  alignas(64) float out[16 * 16];
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, operand, 64);
  _tile_loadd(5, operand, 64);
  _tile_loadd(6, operand, 64);
  _tile_loadd(7, operand, 64);
  for (long it = 0; it < iters; ++it) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out, 64);
  _tile_release();
  return out[0];
}

template <typename F>
double BestGflops(int threads, long iters, double flops_per_iter, F kernel) {
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {  // best of three: the machine is shared
    std::vector<std::thread> pool;
    std::vector<float> sink(threads);
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[t] = kernel(iters); });
    for (auto& th : pool) th.join();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, threads * iters * flops_per_iter / secs / 1e9);
  }
  return best;
}

}  // namespace

double MeasureBf16PeakGflops(int threads) {
  if (!codegen::HostCpu().avx512_bf16) return 0;
  return BestGflops(threads, 10'000'000, 12.0 * 16 * 2 * 2, Dot512);
}

double MeasureAmxPeakGflops(int threads) {
  if (!codegen::RequestAmx().ok) return 0;
  return BestGflops(threads, 2'000'000, 4.0 * 16 * 16 * 32 * 2, AmxDot);
}

double MeasurePeakGflops(int threads) {
  const bool avx512 = codegen::HostCpu().avx512f;
  return BestGflops(threads, 10'000'000, 12.0 * (avx512 ? 16 : 8) * 2,
                    [avx512](long iters) { return avx512 ? Fma512(iters) : Fma256(iters); });
}

}  // namespace gptc
