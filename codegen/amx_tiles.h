// The tile-level interface between the AMX GEMM driver (amx_gemm.cc) and its micro-kernel,
// built twice from amx_tile_step.inc: with the hardware's tile instructions and as a plain
// C++ emulation (for CPUs without AMX). Internal to codegen/.
#pragma once

#include <cstdint>

namespace gptc::codegen::amx {

// One 32 x 32 block of outputs over `k_tiles` 32-deep K tiles: accumulators in tiles 0-3
// (rows 0-15 / 16-31 x columns 0-15 / 16-31), A in tiles 4-5, B in tiles 6-7.
struct TileStep {
  const uint16_t* a0;  // A, rows 0-15 of the block, first K tile (16 rows x 32 bf16)
  const uint16_t* a1;  // rows 16-31
  int64_t a_stride;    // bytes between A's rows
  int64_t a_step;      // elements from one K tile of A to the next
  const uint16_t* b0;  // packed B, columns 0-15, first K tile (16 pairs x 16 columns x 2)
  const uint16_t* b1;  // columns 16-31
  int64_t b_step;      // elements from one K tile of B to the next
  int64_t k_tiles;
  float* c;          // the 32 x 32 outputs (f32)
  int64_t c_stride;  // bytes between rows of c
  bool accumulate;   // add to c; else start from zero
};

struct TileBackend {
  void (*configure)();  // sets this thread's tile shapes (every tile 16 rows x 64 bytes)
  void (*run)(const TileStep& s);
  void (*release)();  // returns the thread's tile state
};

const TileBackend& HardwareTiles();
const TileBackend& EmulatedTiles();

}  // namespace gptc::codegen::amx
