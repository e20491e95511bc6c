#include "codegen/amx_pack.h"

#include <immintrin.h>

#include <cstring>

#include "codegen/cpu_info.h"
#include "codegen/spin_pool.h"

namespace gptc::codegen {
namespace {

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// dst[2c] = r0[c], dst[2c + 1] = r1[c] for 16 columns: two rows' pairs, one tile row.
void InterleaveScalar(const uint16_t* r0, const uint16_t* r1, uint16_t* dst) {
  for (int c = 0; c < 16; ++c) dst[2 * c] = r0[c], dst[2 * c + 1] = r1[c];
}
__attribute__((target("avx512f"))) void InterleaveAvx512(const uint16_t* r0, const uint16_t* r1,
                                                         uint16_t* dst) {
  const __m512i lo =
      _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0)));
  const __m512i hi =
      _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1)));
  _mm512_storeu_si512(dst, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
}
using Interleave = void (*)(const uint16_t*, const uint16_t*, uint16_t*);
Interleave Interleaver() {
  static const Interleave f = HostCpu().avx512f ? InterleaveAvx512 : InterleaveScalar;
  return f;
}

// out[c * 16 + r] = in[r][c]: a 16 x 16 transpose of 32-bit pairs of bf16.
void Transpose16Scalar(const uint32_t (&in)[16][16], uint32_t* out) {
  for (int c = 0; c < 16; ++c)
    for (int r = 0; r < 16; ++r) out[c * 16 + r] = in[r][c];
}
// The same in registers: 32-bit then 64-bit unpacks leave, in 128-bit lane L of u[4 g + j],
// column 4 L + j of rows 4 g .. 4 g + 3; two rounds of lane shuffles gather each column's
// four lanes.
__attribute__((target("avx512f"))) void Transpose16Avx512(const uint32_t (&in)[16][16],
                                                          uint32_t* out) {
  __m512i t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    const __m512i a = _mm512_load_si512(in[i]), b = _mm512_load_si512(in[i + 1]);
    t[i] = _mm512_unpacklo_epi32(a, b);
    t[i + 1] = _mm512_unpackhi_epi32(a, b);
  }
  for (int g = 0; g < 16; g += 4) {
    u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512i x = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);
    const __m512i y = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
    const __m512i x2 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);
    const __m512i y2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
    _mm512_storeu_si512(out + j * 16, _mm512_shuffle_i32x4(x, y, 0x88));
    _mm512_storeu_si512(out + (8 + j) * 16, _mm512_shuffle_i32x4(x, y, 0xdd));
    _mm512_storeu_si512(out + (4 + j) * 16, _mm512_shuffle_i32x4(x2, y2, 0x88));
    _mm512_storeu_si512(out + (12 + j) * 16, _mm512_shuffle_i32x4(x2, y2, 0xdd));
  }
}

uint16_t At(const Bf16View& v, int64_t r, int64_t c, int64_t rows, int64_t cols) {
  return r < rows && c < cols ? v.data[r * v.rs + c * v.cs] : uint16_t{0};
}

}  // namespace

void Transpose16(const uint32_t (&in)[16][16], uint32_t* out) {
  static const bool avx512 = HostCpu().avx512f;
  avx512 ? Transpose16Avx512(in, out) : Transpose16Scalar(in, out);
}

int64_t PackedAIndex(int64_t r, int64_t kk, int64_t k_tiles) {
  return ((r / 16) * k_tiles + kk / kAmxTile) * kAmxTileElems + (r % 16) * kAmxTile + kk % kAmxTile;
}

int64_t PackedBIndex(int64_t kk, int64_t c, int64_t k_tiles) {
  return ((c / 16) * k_tiles + kk / kAmxTile) * kAmxTileElems + ((kk % kAmxTile) / 2) * kAmxTile +
         (c % 16) * 2 + kk % 2;
}

void PackA(const Bf16View& a, int64_t m, int64_t k, int64_t mp, uint16_t* packed) {
  const int64_t kt = RoundUp(k, kAmxTile) / kAmxTile;
  const Interleave interleave = Interleaver();
  SpinPool::Get().Run(static_cast<int>(mp / 16), [&](int band) {
    const int64_t r0 = band * 16;
    for (int64_t t = 0; t < kt; ++t) {
      uint16_t* tile = packed + (band * kt + t) * kAmxTileElems;
      const int64_t k0 = t * kAmxTile;
      const bool whole = r0 + 16 <= m && k0 + kAmxTile <= k;
      if (whole && a.cs == 1) {  // rows of K in place: copies
        for (int64_t r = 0; r < 16; ++r)
          std::memcpy(tile + r * kAmxTile, a.data + (r0 + r) * a.rs + k0, kAmxTile * 2);
      } else if (whole && a.rs == 1) {
        // A stored transposed (K rows of m): interleave two K rows into 16 rows' pairs, one
        // column of 32-bit pairs of the tile, then transpose the 16 x 16 pairs.
        alignas(64) uint32_t cols[16][16];
        for (int64_t p = 0; p < 16; ++p)
          interleave(a.data + (k0 + 2 * p) * a.cs + r0, a.data + (k0 + 2 * p + 1) * a.cs + r0,
                     reinterpret_cast<uint16_t*>(cols[p]));
        Transpose16(cols, reinterpret_cast<uint32_t*>(tile));
      } else {
        for (int64_t r = 0; r < 16; ++r)
          for (int64_t kk = 0; kk < kAmxTile; ++kk)
            tile[r * kAmxTile + kk] = At(a, r0 + r, k0 + kk, m, k);
      }
    }
  });
}

void PackB(const Bf16View& b, int64_t k, int64_t n, uint16_t* packed) {
  const int64_t kt = RoundUp(k, kAmxTile) / kAmxTile, np = RoundUp(n, kAmxTile);
  const Interleave interleave = Interleaver();
  SpinPool::Get().Run(static_cast<int>(np / 16), [&](int band) {
    const int64_t c0 = band * 16;
    uint16_t* dst = packed + band * kt * kAmxTileElems;
    int64_t kk = 0;
    if (b.rs == 1 && c0 + 16 <= n) {
      // B stored transposed: a whole tile is the 16 x 16 transpose of 32-bit pairs, 64
      // contiguous bytes of each of 16 stored rows; done through an L1 block.
      for (; kk + kAmxTile <= k; kk += kAmxTile) {
        alignas(64) uint32_t rows[16][16];
        for (int64_t c = 0; c < 16; ++c) std::memcpy(rows[c], b.data + (c0 + c) * b.cs + kk, 64);
        uint32_t* tile = reinterpret_cast<uint32_t*>(dst + (kk / kAmxTile) * kAmxTileElems);
        Transpose16(rows, tile);
      }
    }
    for (; kk < kt * kAmxTile; kk += 2) {
      // One tile row: the 16 columns' pairs (kk, kk + 1).
      uint16_t* row = dst + (kk / kAmxTile) * kAmxTileElems + ((kk % kAmxTile) / 2) * kAmxTile;
      const bool whole = c0 + 16 <= n && kk + 1 < k;
      if (whole && b.cs == 1) {
        interleave(b.data + kk * b.rs + c0, b.data + (kk + 1) * b.rs + c0, row);
      } else if (whole && b.rs == 1) {  // B stored transposed: each pair is 4 adjacent bytes
        for (int64_t c = 0; c < 16; ++c) std::memcpy(row + 2 * c, b.data + (c0 + c) * b.cs + kk, 4);
      } else {
        for (int64_t c = 0; c < 16; ++c) {
          row[2 * c] = At(b, kk, c0 + c, k, n);
          row[2 * c + 1] = At(b, kk + 1, c0 + c, k, n);
        }
      }
    }
  });
}

void PackBTile(const Bf16View& rows, int64_t n, int64_t kt, int64_t kb, uint16_t* packed) {
  const Interleave interleave = Interleaver();
  for (int64_t c0 = 0; c0 < RoundUp(n, kAmxTile); c0 += 16) {
    uint16_t* tile = packed + PackedBIndex(kb * kAmxTile, c0, kt);
    for (int64_t p = 0; p < 16; ++p) {
      uint16_t* row = tile + p * kAmxTile;
      if (c0 + 16 <= n && rows.cs == 1) {
        interleave(rows.data + 2 * p * rows.rs + c0, rows.data + (2 * p + 1) * rows.rs + c0, row);
      } else {
        for (int64_t c = 0; c < 16; ++c) {
          row[2 * c] = At(rows, 2 * p, c0 + c, kAmxTile, n);
          row[2 * c + 1] = At(rows, 2 * p + 1, c0 + c, kAmxTile, n);
        }
      }
    }
  }
}

}  // namespace gptc::codegen
