// The schedule candidates of a GEMM, chosen per shape. No Halide here: the candidates are
// plain numbers, so they can be listed, tested and printed without compiling anything.
//
// Every candidate is a register tile (tn columns x tm rows of accumulators that stay in
// registers across the reduction) placed in one of three loop nests, after the blocking of
// Goto's BLAS:
//  - kStrips: for each strip of tn columns, all row tiles. The strip of B (K x tn) is reused
//    by every row tile, so it stays in cache; good when B is large and K moderate.
//  - kRowBlocks: blocks of `mb` rows; inside, for each column strip, the row tiles of the
//    block. The A block (mb x K) stays in L2 while B strips stream past it.
//  - kKBlocks: like kRowBlocks, but the reduction is cut into chunks of `kc`, so the B panel
//    (kc x tn) fits in L1; accumulators are spilled to the block between chunks. For long
//    reductions (the weight gradients, K = B*T).
//  - kPacked: Goto's own nest: chunks of kc outermost; per chunk B packed into contiguous
//    kc x tn panels, per block of mb rows A packed into kc x tm panels; accumulators in one
//    buffer between chunks. For long reductions over wide operands, whose rows are pages apart.
// Which one wins depends on shape and on the cache sizes, so the compiler times the
// candidates on the real shape (KernelCompiler) instead of guessing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gptc::codegen {

struct GemmTile {
  enum Nest { kStrips, kRowBlocks, kKBlocks, kPacked };
  Nest nest = kStrips;
  int tn = 1;  // columns of the register tile (a multiple of the vector width when n allows)
  int tm = 1;  // rows of the register tile
  int mb = 0;  // rows per block (kRowBlocks, kKBlocks, kPacked); a multiple of tm
  int kc = 0;  // reduction chunk (kKBlocks, kPacked)
  // Computes the transposed product with the operands' roles exchanged, then transposes the
  // result (A^T B only; the tile then refers to the swapped shape). Set by the lowering.
  bool swap = false;
  std::string Describe() const;  // e.g. "64x6 kblocks mb=192 kc=256", "swapped 48x8 strips"
};

// Below this many flops a GEMM takes microseconds: tuning it would cost more compile time
// than it could ever save, so it keeps the first candidate.
constexpr double kGemmTuneFlops = 4e6;

struct GemmShape {
  int64_t batch = 1, m = 1, n = 1, k = 1;
  bool b_transposed = false;  // B read across its rows: no packed nest (it reads B's rows)
};

// Candidates for this shape, best guess first (the choice when tuning is off). `vec` is the
// f32 vector width (16 with AVX-512, 8 with AVX2) and `registers` the vector register count.
std::vector<GemmTile> GemmCandidates(const GemmShape& s, int vec, int registers);

}  // namespace gptc::codegen
