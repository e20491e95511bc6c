// The micro-kernel on the hardware's tiles. Built with -mamx-tile -mamx-bf16 (CMakeLists.txt);
// only called where codegen::RequestAmx() granted the tile state.
#include <immintrin.h>

#include "codegen/amx_tiles.h"

namespace gptc::codegen::amx {
namespace {

// The tile configuration (Intel SDM, LDTILECFG): palette 1, then bytes per row and rows of
// each of the 16 tile registers.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

#define TILE_ZERO(t) _tile_zero(t)
#define TILE_LOAD(t, p, s) _tile_loadd(t, p, s)
#define TILE_STORE(t, p, s) _tile_stored(t, p, s)
#define TILE_DP(c, a, b) _tile_dpbf16ps(c, a, b)
#include "codegen/amx_tile_step.inc"

// GCC's tile intrinsics are inline assembly that declares no memory access: the barriers keep
// the compiler from moving the caller's stores (packing) past the tile loads, or the
// epilogue's reads before the tile stores.
void RunBarriered(const TileStep& s) {
  asm volatile("" ::: "memory");
  RunStep(s);
  asm volatile("" ::: "memory");
}

void Configure() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) cfg.colsb[t] = 64, cfg.rows[t] = 16;
  _tile_loadconfig(&cfg);
}

void Release() { _tile_release(); }

}  // namespace

const TileBackend& HardwareTiles() {
  static const TileBackend b{Configure, RunBarriered, Release};
  return b;
}

}  // namespace gptc::codegen::amx
