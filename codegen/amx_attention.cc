#include "codegen/amx_attention.h"

#include <HalideRuntime.h>

// GCC 12's AVX-512 headers pass _mm512_undefined_ps() through the unmasked intrinsics, which
// its own flow analysis then reports as uninitialised (a false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "codegen/amx_gemm.h"
#include "codegen/amx_pack.h"
#include "codegen/amx_tiles.h"
#include "codegen/cpu_info.h"
#include "codegen/spin_pool.h"
#include "ir/types.h"

namespace gptc::codegen {
namespace {

constexpr int64_t kBlock = kAmxTile;  // queries (and keys) per block: one tile step's side

// The row-wise softmax pieces, in AVX-512 where the CPU has it (every AMX CPU does; the
// scalar forms serve emulated tiles elsewhere).
struct RowOps {
  float (*max)(const float* x, int64_t n);
  // x[j] = exp((x[j] - m) * scale) for j < n; returns their sum.
  float (*exp_sum)(float* x, int64_t n, float m, float scale);
  // out[j] = bf16(x[j] * mul) for j < n.
  void (*to_bf16)(const float* x, int64_t n, float mul, uint16_t* out);
  // The softmax's backward on a row: p[j] *= inv (normalised), then
  // dp[j] = p[j] (dp[j] - sum_j p[j] dp[j]) scale, for j < n.
  void (*grad)(float* p, float* dp, int64_t n, float inv, float scale);
  // 64 bytes from `from` to `to` in one access each (a copy in narrower pieces read back as
  // one vector stalls on store forwarding).
  void (*copy16)(const void* from, void* to);
};

float MaxScalar(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  return m;
}
float ExpSumScalar(float* x, int64_t n, float m, float scale) {
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += x[j] = std::exp((x[j] - m) * scale);
  return sum;
}

void ToBf16Scalar(const float* x, int64_t n, float mul, uint16_t* out) {
  for (int64_t j = 0; j < n; ++j) out[j] = ir::RoundedBF16Bits(x[j] * mul);
}

void GradScalar(float* p, float* dp, int64_t n, float inv, float scale) {
  float rowdot = 0;
  for (int64_t j = 0; j < n; ++j) {
    p[j] *= inv;
    rowdot += p[j] * dp[j];
  }
  for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - rowdot) * scale;
}

void Copy16Scalar(const void* from, void* to) { std::memcpy(to, from, 64); }

__attribute__((target("avx512f"))) void Copy16Avx512(const void* from, void* to) {
  _mm512_storeu_ps(to, _mm512_loadu_ps(from));
}

__attribute__((target("avx512f"))) __mmask16 TailMask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}
__attribute__((target("avx512f"))) float MaxAvx512(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < n; j += 16)
    m = _mm512_mask_max_ps(m, TailMask(n - j), m, _mm512_maskz_loadu_ps(TailMask(n - j), x + j));
  return _mm512_reduce_max_ps(m);
}
// exp(a) = 2^i e^r with i = round(a log2 e), |r| <= ln2 / 2: a degree-6 Taylor polynomial
// (relative error ~1e-7) scaled by scalef, which flushes far-negative arguments to 0.
__attribute__((target("avx512f"))) __m512 Exp512(__m512 a) {
  a = _mm512_max_ps(a, _mm512_set1_ps(-100.0f));
  const __m512 i = _mm512_roundscale_ps(_mm512_mul_ps(a, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(i, _mm512_set1_ps(0.693145752f), a);
  r = _mm512_fnmadd_ps(i, _mm512_set1_ps(1.42860677e-6f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  for (const float c : {1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f})
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  return _mm512_scalef_ps(p, i);
}
__attribute__((target("avx512f"))) float ExpSumAvx512(float* x, int64_t n, float m, float scale) {
  const __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(scale);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = TailMask(n - j);
    const __m512 e = Exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), vm), vs));
    _mm512_mask_storeu_ps(x + j, k, e);
    sum = _mm512_mask_add_ps(sum, k, sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

__attribute__((target("avx512f"))) void ToBf16Avx512(const float* x, int64_t n, float mul,
                                                     uint16_t* out) {
  const __m512 vm = _mm512_set1_ps(mul);
  const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = TailMask(n - j);
    __m512i u = _mm512_castps_si512(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + j), vm));
    u = _mm512_add_epi32(u,
                         _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
    _mm512_mask_cvtepi32_storeu_epi16(out + j, k, _mm512_srli_epi32(u, 16));
  }
}

__attribute__((target("avx512f"))) void GradAvx512(float* p, float* dp, int64_t n, float inv,
                                                   float scale) {
  const __m512 vi = _mm512_set1_ps(inv);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = TailMask(n - j);
    const __m512 pj = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), vi);
    _mm512_mask_storeu_ps(p + j, k, pj);
    acc = _mm512_fmadd_ps(pj, _mm512_maskz_loadu_ps(k, dp + j), acc);
  }
  const __m512 rowdot = _mm512_set1_ps(_mm512_reduce_add_ps(acc)), vs = _mm512_set1_ps(scale);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = TailMask(n - j);
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, dp + j), rowdot);
    _mm512_mask_storeu_ps(dp + j, k,
                          _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), d), vs));
  }
}

const RowOps& Rows() {
  static const RowOps ops =
      HostCpu().avx512f ? RowOps{MaxAvx512, ExpSumAvx512, ToBf16Avx512, GradAvx512, Copy16Avx512}
                        : RowOps{MaxScalar, ExpSumScalar, ToBf16Scalar, GradScalar, Copy16Scalar};
  return ops;
}

bool IsQuery(const halide_buffer_t* b) { return b->host == nullptr && b->device == 0; }

bool IsFloat(const halide_buffer_t* b, int bits) {
  const halide_type_code_t want = bits == 32 ? halide_type_float : halide_type_bfloat;
  return b->dimensions == 4 && b->type.code == want && b->type.bits == bits;
}

// A result is f32, or bf16 where the node stores it rounded.
bool IsResult(const halide_buffer_t* b) { return IsFloat(b, 32) || IsFloat(b, 16); }

// Head (h, b) of a [B, H, T, D] operand as row-major bf16 [T, D], rounded from f32.
void LoadHead(const halide_buffer_t* x, int64_t h, int64_t b, int64_t t, int64_t d, uint16_t* dst) {
  const int64_t s0 = x->dim[0].stride, s1 = x->dim[1].stride;
  const int64_t base = h * x->dim[2].stride + b * x->dim[3].stride;
  if (x->type.bits == 16) {
    const uint16_t* src = reinterpret_cast<const uint16_t*>(x->host) + base;
    for (int64_t r = 0; r < t; ++r)
      if (s0 == 1) {
        std::memcpy(dst + r * d, src + r * s1, d * 2);
      } else {
        for (int64_t c = 0; c < d; ++c) dst[r * d + c] = src[r * s1 + c * s0];
      }
  } else {
    const float* src = reinterpret_cast<const float*>(x->host) + base;
    for (int64_t r = 0; r < t; ++r)
      if (s0 == 1) {
        Rows().to_bf16(src + r * s1, d, 1.0f, dst + r * d);
      } else {
        for (int64_t c = 0; c < d; ++c) dst[r * d + c] = ir::RoundedBF16Bits(src[r * s1 + c * s0]);
      }
  }
}

// Rows [t0, t0 + rows) of head (h, b) of a result: src row-major with d columns, or
// (`transposed`) d rows of `rows` columns. A bf16 result (the node stores it rounded:
// StoreCastsInProducers) gets each value rounded to nearest even.
void StoreRows(halide_buffer_t* out, int64_t h, int64_t b, int64_t t0, int64_t rows, int64_t d,
               const float* src, bool transposed = false) {
  const int64_t s0 = out->dim[0].stride, s1 = out->dim[1].stride;
  const int64_t base = h * out->dim[2].stride + b * out->dim[3].stride + t0 * s1;
  if (out->type.bits == 16) {
    uint16_t* dst = reinterpret_cast<uint16_t*>(out->host) + base;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < d; ++c)
        dst[r * s1 + c * s0] = ir::RoundedBF16Bits(transposed ? src[c * rows + r] : src[r * d + c]);
    return;
  }
  float* dst = reinterpret_cast<float*>(out->host) + base;
  if (transposed && s0 == 1 && rows % 16 == 0 && d % 16 == 0) {
    // 16 x 16 blocks transposed in registers, then whole rows of 16 out.
    alignas(64) uint32_t in[16][16], out16[16 * 16];
    const RowOps& ops = Rows();
    for (int64_t c0 = 0; c0 < d; c0 += 16)
      for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        for (int64_t c = 0; c < 16; ++c) ops.copy16(src + (c0 + c) * rows + r0, in[c]);
        Transpose16(in, out16);
        for (int64_t r = 0; r < 16; ++r) ops.copy16(out16 + r * 16, dst + (r0 + r) * s1 + c0);
      }
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    if (!transposed && s0 == 1) {
      std::memcpy(dst + r * s1, src + r * d, d * 4);
    } else {
      for (int64_t c = 0; c < d; ++c)
        dst[r * s1 + c * s0] = transposed ? src[c * rows + r] : src[r * d + c];
    }
}

// The [D, T] transpose of a row-major [T, D] head.
void Transpose(const uint16_t* x, int64_t t, int64_t d, uint16_t* out) {
  for (int64_t r = 0; r < t; ++r)
    for (int64_t c = 0; c < d; ++c) out[c * t + r] = x[r * d + c];
}

// c[m x n] = a . B on tiles: a row-major bf16 (a_rs elements between rows) over k_tiles K
// tiles; B packed (amx_pack.h) with kt K tiles in all, read from K tile k0 on and from
// column n0 on.
void Product(const amx::TileBackend& tiles, const uint16_t* a, int64_t a_rs, const uint16_t* b,
             int64_t kt, int64_t k0, int64_t k_tiles, float* c, int64_t c_rs, int64_t m, int64_t n,
             int64_t n0 = 0) {
  for (int64_t ii = 0; ii < m; ii += kBlock)
    for (int64_t jj = 0; jj < n; jj += kBlock) {
      amx::TileStep s;
      s.a0 = a + ii * a_rs;
      s.a1 = s.a0 + 16 * a_rs;
      s.a_stride = a_rs * 2;
      s.a_step = kAmxTile;
      s.b0 = b + PackedBIndex(k0 * kAmxTile, n0 + jj, kt);
      s.b1 = b + PackedBIndex(k0 * kAmxTile, n0 + jj + 16, kt);
      s.b_step = kAmxTileElems;
      s.k_tiles = k_tiles;
      s.c = c + ii * c_rs + jj;
      s.c_stride = c_rs * 4;
      s.accumulate = false;
      tiles.run(s);
    }
}

struct Problem {
  int64_t batch, heads, t, d, repeat;
  float scale;
  const halide_buffer_t *q, *k, *v, *dy;
  halide_buffer_t *out, *dq, *dk, *dv;  // the forward's result, or the gradients
  // bf16 copies of the gradients written besides them (StoreCastsInProducers), or null.
  halide_buffer_t *dq16 = nullptr, *dk16 = nullptr, *dv16 = nullptr;
};

// A thread's buffers, grown to the largest head it has seen: rows of bf16 heads, their
// packed forms and transposes, a block's scores and gradients, and (backward) the head's P
// and dS in the packed B layout.
struct Scratch {
  std::vector<uint16_t> q, k, v, dy, kt, vp, vt, kp, qt, dyt, pb, dsb, pp, dsp;
  std::vector<float> s, dp, o;
};
thread_local Scratch scratch;

template <typename T>
T* Sized(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

void ForwardHead(const Problem& p, const amx::TileBackend& tiles, int64_t h, int64_t b) {
  const int64_t t = p.t, d = p.d, dt = d / kAmxTile, tt = t / kAmxTile;
  Scratch& sc = scratch;
  uint16_t *q = Sized(sc.q, t * d), *k = Sized(sc.k, t * d), *v = Sized(sc.v, t * d);
  LoadHead(p.q, h, b, t, d, q);
  LoadHead(p.k, h / p.repeat, b, t, d, k);
  LoadHead(p.v, h / p.repeat, b, t, d, v);
  uint16_t *kt = Sized(sc.kt, t * d), *vp = Sized(sc.vp, t * d);
  PackB({k, 1, d}, d, t, kt);  // k^T: (dd, j) = k[j][dd]
  PackB({v, d, 1}, t, d, vp);
  float *s = Sized(sc.s, kBlock * t), *o = Sized(sc.o, kBlock * d);
  uint16_t* pb = Sized(sc.pb, kBlock * t);
  const RowOps& rows = Rows();
  for (int64_t i0 = 0; i0 < t; i0 += kBlock) {
    const int64_t n = i0 + kBlock;  // keys up to the block's diagonal tile
    Product(tiles, q + i0 * d, d, kt, dt, 0, dt, s, t, kBlock, n);
    for (int64_t r = 0; r < kBlock; ++r) {
      float* row = s + r * t;
      const int64_t visible = i0 + r + 1;
      const float inv = 1.0f / rows.exp_sum(row, visible, rows.max(row, visible), p.scale);
      uint16_t* out = pb + r * t;
      rows.to_bf16(row, visible, inv, out);
      std::fill(out + visible, out + n, uint16_t{0});
    }
    Product(tiles, pb, t, vp, tt, 0, n / kAmxTile, o, d, kBlock, d);
    StoreRows(p.out, h, b, i0, kBlock, d, o);
  }
}

// dk and dv come out transposed: dk^T = q^T dS and dv^T = dy^T P, with dS and P written into
// the packed B layout block by block as they are made (a block of 32 queries is one K tile),
// so no [T, T] matrix is ever transposed; q^T and dy^T are the A operands.
void BackwardHead(const Problem& p, const amx::TileBackend& tiles, int64_t h, int64_t b) {
  const int64_t t = p.t, d = p.d, dt = d / kAmxTile, tt = t / kAmxTile;
  Scratch& sc = scratch;
  uint16_t *q = Sized(sc.q, t * d), *k = Sized(sc.k, t * d), *v = Sized(sc.v, t * d),
           *dy = Sized(sc.dy, t * d);
  LoadHead(p.q, h, b, t, d, q);
  LoadHead(p.k, h / p.repeat, b, t, d, k);
  LoadHead(p.v, h / p.repeat, b, t, d, v);
  LoadHead(p.dy, h, b, t, d, dy);
  uint16_t *kt = Sized(sc.kt, t * d), *vt = Sized(sc.vt, t * d), *kp = Sized(sc.kp, t * d),
           *qt = Sized(sc.qt, t * d), *dyt = Sized(sc.dyt, t * d);
  PackB({k, 1, d}, d, t, kt);  // k^T, for S = q k^T
  PackB({v, 1, d}, d, t, vt);  // v^T, for dP = dy v^T
  PackB({k, d, 1}, t, d, kp);  // k, for dq = dS k
  Transpose(q, t, d, qt);      // q^T, for dk^T = q^T dS
  Transpose(dy, t, d, dyt);    // dy^T, for dv^T = dy^T P
  float *s = Sized(sc.s, kBlock * t), *dp = Sized(sc.dp, kBlock * t), *o = Sized(sc.o, kBlock * d);
  uint16_t *pb = Sized(sc.pb, kBlock * t), *dsb = Sized(sc.dsb, kBlock * t),
           *pp = Sized(sc.pp, t * t), *dsp = Sized(sc.dsp, t * t);
  const RowOps& rows = Rows();
  for (int64_t i0 = 0; i0 < t; i0 += kBlock) {
    const int64_t n = i0 + kBlock;
    Product(tiles, q + i0 * d, d, kt, dt, 0, dt, s, t, kBlock, n);
    Product(tiles, dy + i0 * d, d, vt, dt, 0, dt, dp, t, kBlock, n);
    for (int64_t r = 0; r < kBlock; ++r) {
      float *prow = s + r * t, *dprow = dp + r * t;
      const int64_t visible = i0 + r + 1;
      const float inv = 1.0f / rows.exp_sum(prow, visible, rows.max(prow, visible), p.scale);
      rows.grad(prow, dprow, visible, inv, p.scale);
      rows.to_bf16(prow, visible, 1.0f, pb + r * t);
      rows.to_bf16(dprow, visible, 1.0f, dsb + r * t);
      std::fill(pb + r * t + visible, pb + r * t + n, uint16_t{0});
      std::fill(dsb + r * t + visible, dsb + r * t + n, uint16_t{0});
    }
    Product(tiles, dsb, t, kp, tt, 0, n / kAmxTile, o, d, kBlock, d);
    StoreRows(p.dq, h, b, i0, kBlock, d, o);
    if (p.dq16) StoreRows(p.dq16, h, b, i0, kBlock, d, o);
    PackBTile({pb, t, 1}, n, tt, i0 / kAmxTile, pp);
    PackBTile({dsb, t, 1}, n, tt, i0 / kAmxTile, dsp);
  }
  for (int64_t j0 = 0; j0 < t; j0 += kBlock) {
    const int64_t k0 = j0 / kAmxTile;  // queries before the key block see none of its keys
    Product(tiles, qt + j0, t, dsp, tt, k0, tt - k0, o, kBlock, d, kBlock, j0);
    StoreRows(p.dk, h, b, j0, kBlock, d, o, /*transposed=*/true);
    if (p.dk16) StoreRows(p.dk16, h, b, j0, kBlock, d, o, /*transposed=*/true);
    Product(tiles, dyt + j0, t, pp, tt, k0, tt - k0, o, kBlock, d, kBlock, j0);
    StoreRows(p.dv, h, b, j0, kBlock, d, o, /*transposed=*/true);
    if (p.dv16) StoreRows(p.dv16, h, b, j0, kBlock, d, o, /*transposed=*/true);
  }
}

int Run(const Problem& p, bool emulated, bool grad) {
  const amx::TileBackend& tiles = emulated ? amx::EmulatedTiles() : amx::HardwareTiles();
  SpinPool::Get().Run(static_cast<int>(p.batch * p.heads), [&](int task) {
    tiles.configure();
    const int64_t h = task % p.heads, b = task / p.heads;
    grad ? BackwardHead(p, tiles, h, b) : ForwardHead(p, tiles, h, b);
    tiles.release();
  });
  return 0;
}

// The problem's sizes from the buffers, or false when they are not what the lowering gives.
bool Shape(Problem& p, int32_t repeat, float scale) {
  const halide_buffer_t* q = p.q;
  if (!(IsFloat(q, 16) || IsFloat(q, 32)) || repeat < 1) return false;
  p.d = q->dim[0].extent, p.t = q->dim[1].extent, p.heads = q->dim[2].extent;
  p.batch = q->dim[3].extent, p.repeat = repeat, p.scale = scale;
  return AmxAttentionFits(p.t, p.d) && p.heads % repeat == 0;
}

int Forward(int32_t emulated, int32_t repeat, float scale, const halide_buffer_t* q,
            const halide_buffer_t* k, const halide_buffer_t* v, halide_buffer_t* out) {
  // Bounds queries: the operands are whole input buffers, so there is nothing to ask for.
  if (IsQuery(q) || IsQuery(k) || IsQuery(v) || IsQuery(out)) return 0;
  Problem p{0, 0, 0, 0, 1, 1.0f, q, k, v, nullptr, out, nullptr, nullptr, nullptr};
  if (!Shape(p, repeat, scale) || !IsResult(out)) return -1;
  return Run(p, emulated != 0, false);
}

int Backward(int32_t emulated, int32_t repeat, float scale, const halide_buffer_t* q,
             const halide_buffer_t* k, const halide_buffer_t* v, const halide_buffer_t* dy,
             halide_buffer_t* dq, halide_buffer_t* dk, halide_buffer_t* dv,
             halide_buffer_t* dq16 = nullptr, halide_buffer_t* dk16 = nullptr,
             halide_buffer_t* dv16 = nullptr) {
  for (const halide_buffer_t* x :
       {q, k, v, dy, const_cast<const halide_buffer_t*>(dq), const_cast<const halide_buffer_t*>(dk),
        const_cast<const halide_buffer_t*>(dv)})
    if (IsQuery(x)) return 0;
  for (const halide_buffer_t* x : {dq16, dk16, dv16})
    if (x && IsQuery(x)) return 0;
  Problem p{0, 0, 0, 0, 1, 1.0f, q, k, v, dy, nullptr, dq, dk, dv};
  if (!Shape(p, repeat, scale) || !IsResult(dq) || !IsResult(dk) || !IsResult(dv)) return -1;
  for (const halide_buffer_t* x : {dq16, dk16, dv16})
    if (x && !IsFloat(x, 16)) return -1;
  p.dq16 = dq16;
  p.dk16 = dk16;
  p.dv16 = dv16;
  return Run(p, emulated != 0, true);
}

}  // namespace

bool AmxAttentionFits(int64_t t, int64_t d) {
  return t > 0 && d > 0 && t % kAmxTile == 0 && d % kAmxTile == 0;
}

}  // namespace gptc::codegen

extern "C" int gptc_amx_attention(int32_t emulated, int32_t repeat, float scale, halide_buffer_t* q,
                                  halide_buffer_t* k, halide_buffer_t* v, halide_buffer_t* out) {
  return gptc::codegen::Forward(emulated, repeat, scale, q, k, v, out);
}

extern "C" int gptc_amx_attention_grad(int32_t emulated, int32_t repeat, float scale,
                                       halide_buffer_t* q, halide_buffer_t* k, halide_buffer_t* v,
                                       halide_buffer_t* dy, halide_buffer_t* dq,
                                       halide_buffer_t* dk, halide_buffer_t* dv) {
  return gptc::codegen::Backward(emulated, repeat, scale, q, k, v, dy, dq, dk, dv);
}

extern "C" int gptc_amx_attention_grad_copies(int32_t emulated, int32_t repeat, float scale,
                                              halide_buffer_t* q, halide_buffer_t* k,
                                              halide_buffer_t* v, halide_buffer_t* dy,
                                              halide_buffer_t* dq, halide_buffer_t* dk,
                                              halide_buffer_t* dv, halide_buffer_t* dq16,
                                              halide_buffer_t* dk16, halide_buffer_t* dv16) {
  return gptc::codegen::Backward(emulated, repeat, scale, q, k, v, dy, dq, dk, dv, dq16, dk16,
                                 dv16);
}
