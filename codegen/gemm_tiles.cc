#include "codegen/gemm_tiles.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace gptc::codegen {
namespace {

// Rows per block for the blocked nests: 192 rows of A with K up to ~1500 fit in a 1-2 MB L2.
constexpr int kBlockRows = 192;
// Reduction chunks for kKBlocks: a 128 x 64 panel of B is 32 KB (L1), 256 x 64 is 64 KB.
constexpr int kChunks[] = {128, 256};
// kPacked's chunk: a 256 x 64 panel of B is 64 KB, a block's A panel 256 x 192 is 192 KB (L2).
constexpr int kPackedChunk = 256;
// Reductions longer than this also get kKBlocks and kPacked candidates.
constexpr int64_t kLongReduction = 512;

}  // namespace

std::string GemmTile::Describe() const {
  const char* names[] = {"strips", "rowblocks", "kblocks", "packed"};
  std::string s = absl::StrCat(swap ? "swapped " : "", tn, "x", tm, " ", names[nest]);
  if (nest != kStrips) absl::StrAppend(&s, " mb=", mb);
  if (nest == kKBlocks || nest == kPacked) absl::StrAppend(&s, " kc=", kc);
  return s;
}

std::vector<GemmTile> GemmCandidates(const GemmShape& s, int vec, int registers) {
  // Register tiles as (vectors of columns, rows): accumulators + one B row + one broadcast A
  // element must fit in the register file, and two FMA pipes of latency 4 need >= 8 chains.
  std::vector<std::pair<int, int>> shapes;
  if (registers >= 32) {
    shapes = {{4, 6}, {3, 8}, {2, 12}, {1, 24}};
  } else {
    shapes = {{2, 6}, {3, 4}, {1, 12}};
  }
  std::vector<std::pair<int, int>> fitting;
  for (const auto& [vecs, rows] : shapes)
    if (vecs * vec <= s.n && fitting.size() < 2) fitting.push_back({vecs * vec, rows});
  if (fitting.empty()) fitting.push_back({static_cast<int>(s.n), 8});  // narrower than a vector

  std::vector<GemmTile> out;
  for (const auto& [tn, rows] : fitting) {
    GemmTile t;
    t.tn = tn;
    t.tm = static_cast<int>(std::min<int64_t>(rows, s.m));
    t.mb = std::max(t.tm, static_cast<int>(std::min<int64_t>(kBlockRows, s.m)) / t.tm * t.tm);
    t.nest = GemmTile::kStrips;
    GemmTile pk = t;
    pk.nest = GemmTile::kPacked;
    pk.kc = kPackedChunk;
    // Long reductions over at least a block of rows: the packed nest first (the best guess,
    // and among the two the bf16 and AMX paths keep: GPT-2's weight gradients ran 1.2-1.3x
    // faster on it than on the K-blocked nest; baby's level with it).
    const bool packed = s.k > kLongReduction && !s.b_transposed;
    const bool packed_first = packed && s.m >= kBlockRows;
    if (packed_first) out.push_back(pk);
    if (s.k > kLongReduction) {
      for (int kc : kChunks) {
        GemmTile kb = t;
        kb.nest = GemmTile::kKBlocks;
        kb.kc = kc;
        out.push_back(kb);
      }
    }
    out.push_back(t);
    if (s.m > 2 * t.mb) {
      GemmTile rb = t;
      rb.nest = GemmTile::kRowBlocks;
      out.push_back(rb);
    }
    if (packed && !packed_first) out.push_back(pk);
  }
  const double flops = 2.0 * s.batch * s.m * s.n * s.k;
  if (flops < kGemmTuneFlops) out.resize(1);
  return out;
}

}  // namespace gptc::codegen
