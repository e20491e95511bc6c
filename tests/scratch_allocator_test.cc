// Kernels' heap scratch (codegen/scratch_allocator.h): aligned, readable around its edges,
// reused by the next request it fits, bounded per thread; and the JIT's kernels allocate
// through it, computing the same results from reused (dirty) memory as from fresh pages.
#include "codegen/scratch_allocator.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "tests/jit_test_util.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

using codegen::ScratchFree;
using codegen::ScratchMalloc;

// Empties the calling thread's cache, so each test starts from nothing cached.
void Drain() {
  codegen::ScratchRelease();
  ASSERT_EQ(codegen::ScratchCachedBlocks(), 0u);
  ASSERT_EQ(codegen::ScratchCachedBytes(), 0u);
}

TEST(ScratchAllocator, AlignedAndWritableWithMarginsAroundTheRequest) {
  Drain();
  for (size_t bytes : {size_t{1}, size_t{4095}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE(bytes);
    auto* p = static_cast<unsigned char*>(ScratchMalloc(nullptr, bytes));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 128, 0u);
    std::memset(p, 0xab, bytes + 64);  // Halide may read a little past the end
    volatile unsigned char before = p[-8];
    (void)before;
    EXPECT_EQ(p[bytes - 1], 0xab);
    ScratchFree(nullptr, p);
  }
  Drain();
}

TEST(ScratchAllocator, AFreedBlockServesTheNextRequestItFits) {
  Drain();
  const codegen::ScratchStats s0 = codegen::GetScratchStats();
  void* a = ScratchMalloc(nullptr, 1 << 20);
  ScratchFree(nullptr, a);
  EXPECT_EQ(codegen::ScratchCachedBlocks(), 1u);
  EXPECT_GE(codegen::ScratchCachedBytes(), size_t{1} << 20);
  void* b = ScratchMalloc(nullptr, (1 << 20) - 1000);  // a little smaller: the same block
  EXPECT_EQ(b, a);
  EXPECT_EQ(codegen::ScratchCachedBlocks(), 0u);
  EXPECT_EQ(codegen::ScratchCachedBytes(), 0u);
  ScratchFree(nullptr, b);
  // A block more than twice the request is kept for requests of its size.
  void* small = ScratchMalloc(nullptr, 100 << 10);
  EXPECT_NE(small, a);
  EXPECT_EQ(codegen::ScratchCachedBlocks(), 1u);
  void* again = ScratchMalloc(nullptr, 1 << 20);
  EXPECT_EQ(again, a);
  const codegen::ScratchStats s1 = codegen::GetScratchStats();
  EXPECT_EQ(s1.fresh - s0.fresh, 2u);  // a and small
  EXPECT_EQ(s1.reused - s0.reused, 2u);
  ScratchFree(nullptr, small);
  ScratchFree(nullptr, again);
  Drain();
}

TEST(ScratchAllocator, AThreadKeepsAtMostItsBound) {
  Drain();
  const size_t cap = codegen::kScratchCacheBytes;
  // Three blocks of 40% of the bound: the oldest goes when the third is freed.
  std::vector<void*> blocks;
  for (int i = 0; i < 3; ++i) blocks.push_back(ScratchMalloc(nullptr, cap / 10 * 4));
  for (void* p : blocks) ScratchFree(nullptr, p);
  EXPECT_EQ(codegen::ScratchCachedBlocks(), 2u);
  EXPECT_LE(codegen::ScratchCachedBytes(), cap);
  // A block larger than the bound is never kept.
  Drain();
  ScratchFree(nullptr, ScratchMalloc(nullptr, cap + 1));
  EXPECT_EQ(codegen::ScratchCachedBlocks(), 0u);
}

// The attention backward's per-head [T x T] buffers (256 KiB each here) come from the heap:
// the first run on a thread maps them, later runs reuse them, and every run matches the
// interpreter, with reused blocks filled with NaN bytes (a kernel reading scratch it did not
// write, which fresh zero pages hid, shows NaN).
TEST(ScratchAllocator, KernelsReuseTheirScratchAndStillMatchTheInterpreter) {
  const int64_t b = 1, h = 2, t = 256, d = 64;
  const std::string x = testing::F32Type({b, h, t, d});
  auto g = ir::ParseGraph(absl::StrCat("graph g(%q: ", x, ", %k: ", x, ", %v: ", x, ", %dy: ", x,
                                       ") {\n", testing::AttentionOpsText(b, h, t, d, 0.125),
                                       "  return %y, %dq, %dk, %dv\n}"));
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::LiteralMap args = testing::RandomArgs(*g, 11, 1);
  const codegen::ScratchStats s0 = codegen::GetScratchStats();
  const testing::Mismatch first = testing::CompareWithInterpreter(*g, args);
  EXPECT_LE(first.worst_rel, 1e-4) << "worst at " << first.where;
  const codegen::ScratchStats s1 = codegen::GetScratchStats();
  EXPECT_GT(s1.fresh + s1.reused, s0.fresh + s0.reused) << "the kernels allocated no scratch";
  codegen::SetScratchPoison(true);
  for (int run = 0; run < 3; ++run) {
    const testing::Mismatch m = testing::CompareWithInterpreter(*g, args);
    EXPECT_LE(m.worst_rel, 1e-4) << "run " << run << ", worst at " << m.where;
  }
  codegen::SetScratchPoison(false);
  // A thread maps its own blocks the first time it runs a head; after that it reuses them.
  const codegen::ScratchStats s2 = codegen::GetScratchStats();
  EXPECT_GT(s2.reused - s1.reused, s2.fresh - s1.fresh);
}

}  // namespace
}  // namespace gptc
