// The operand layouts AMX tiles read (amx_gemm.h), and the packing into them.
//  - A: tiles of 16 rows x 32 K (bf16, 64-byte rows), the K tiles of a 16-row band
//    consecutive, rows padded to 32 and K to 32 with zeros.
//  - B: "pair-interleaved": tiles of 16 K pairs x 16 columns, each column's pair (k, k + 1)
//    adjacent (what tdpbf16ps multiplies with a row of A's pairs); the K tiles of a 16-column
//    band consecutive, columns padded to 32 and K to 32 with zeros.
// The common forms have AVX-512 paths (every AMX CPU has AVX-512): a row-major B interleaves
// two rows with widening loads, a transposed operand moves 32-bit pairs.
#pragma once

#include <cstdint>

#include "codegen/amx_gemm.h"

namespace gptc::codegen {

constexpr int64_t kAmxTile = 32;        // K per tile; outputs per block side
constexpr int64_t kAmxTileElems = 512;  // bf16 in one 1 KiB tile

// out[c * 16 + r] = in[r][c]: a 16 x 16 transpose of 32-bit elements (pairs of bf16, or f32).
void Transpose16(const uint32_t (&in)[16][16], uint32_t* out);

int64_t PackedAIndex(int64_t r, int64_t kk, int64_t k_tiles);
int64_t PackedBIndex(int64_t kk, int64_t c, int64_t k_tiles);

// A (m x k) into the A layout of mp rows (a multiple of 32); on the SpinPool's threads.
void PackA(const Bf16View& a, int64_t m, int64_t k, int64_t mp, uint16_t* packed);
// B (k x n) into the B layout.
void PackB(const Bf16View& b, int64_t k, int64_t n, uint16_t* packed);
// One K tile of B: its 32 rows (`rows`, 32 x n) into K tile `kb` of a packed B of `kt` K tiles
// (the attention backward writes dS and P this way, block by block, as it makes them).
void PackBTile(const Bf16View& rows, int64_t n, int64_t kt, int64_t kb, uint16_t* packed);

}  // namespace gptc::codegen
