// The micro-kernel on emulated tiles: eight 1 KiB registers per thread and tdpbf16ps's
// arithmetic in C++ (Intel SDM: per output, the two products of a pair of bf16 widened to
// f32, added in order to the f32 accumulator). Slow; for testing the driver's packing,
// blocking and the extern wiring on CPUs without AMX.
#include <cstring>

#include "codegen/amx_tiles.h"

namespace gptc::codegen::amx {
namespace {

struct Tiles {
  alignas(64) unsigned char reg[8][16][64];
};
thread_local Tiles tiles;

float Widen(uint16_t bits) {
  const uint32_t w = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}

void Zero(int t) { std::memset(tiles.reg[t], 0, sizeof(tiles.reg[t])); }
void Load(int t, const void* p, int64_t stride) {
  for (int r = 0; r < 16; ++r)
    std::memcpy(tiles.reg[t][r], static_cast<const char*>(p) + r * stride, 64);
}
void Store(int t, void* p, int64_t stride) {
  for (int r = 0; r < 16; ++r) std::memcpy(static_cast<char*>(p) + r * stride, tiles.reg[t][r], 64);
}
// c[m][n] += a[m][2p] b[p][2n] + a[m][2p + 1] b[p][2n + 1] over the 16 pairs p.
void Dp(int ct, int at, int bt) {
  for (int m = 0; m < 16; ++m) {
    float c[16];
    std::memcpy(c, tiles.reg[ct][m], 64);
    uint16_t a[32];
    std::memcpy(a, tiles.reg[at][m], 64);
    for (int p = 0; p < 16; ++p) {
      uint16_t b[32];
      std::memcpy(b, tiles.reg[bt][p], 64);
      const float a0 = Widen(a[2 * p]), a1 = Widen(a[2 * p + 1]);
      for (int n = 0; n < 16; ++n) {
        c[n] += a0 * Widen(b[2 * n]);
        c[n] += a1 * Widen(b[2 * n + 1]);
      }
    }
    std::memcpy(tiles.reg[ct][m], c, 64);
  }
}

#define TILE_ZERO(t) Zero(t)
#define TILE_LOAD(t, p, s) Load(t, p, s)
#define TILE_STORE(t, p, s) Store(t, p, s)
#define TILE_DP(c, a, b) Dp(c, a, b)
#include "codegen/amx_tile_step.inc"

void Nothing() {}

}  // namespace

const TileBackend& EmulatedTiles() {
  static const TileBackend b{Nothing, RunStep, Nothing};
  return b;
}

}  // namespace gptc::codegen::amx
