// The spinning pool that runs every kernel's parallel loops: each index runs exactly once,
// over many back-to-back loops (the way a train step issues them), errors come back, nested
// loops run inline, and the thread count can change.
#include "codegen/spin_pool.h"

#include <atomic>
#include <vector>

#include "gtest/gtest.h"

namespace gptc {
namespace {

struct Counts {
  std::vector<std::atomic<int>>* hits;
  int fail_at = -1;
};

int CountTask(void*, int i, uint8_t* closure) {
  Counts& c = *reinterpret_cast<Counts*>(closure);
  (*c.hits)[i].fetch_add(1, std::memory_order_relaxed);
  return i == c.fail_at ? 7 : 0;
}

TEST(SpinPool, EveryIndexRunsOnceOverManyLoops) {
  codegen::SpinPool& pool = codegen::SpinPool::Get();
  pool.SetThreads(0);
  for (int size : {0, 1, 2, 3, 17, 1000}) {
    std::vector<std::atomic<int>> hits(size + 5);
    Counts c{&hits};
    const int loops = size > 100 ? 200 : 5000;
    for (int rep = 0; rep < loops; ++rep)
      ASSERT_EQ(pool.ParFor(nullptr, CountTask, 5, size, reinterpret_cast<uint8_t*>(&c)), 0);
    for (int i = 0; i < size + 5; ++i)
      EXPECT_EQ(hits[i].load(), i < 5 ? 0 : loops) << "size " << size << " index " << i;
  }
}

TEST(SpinPool, ErrorsComeBack) {
  std::vector<std::atomic<int>> hits(64);
  Counts c{&hits, 40};
  EXPECT_EQ(
      codegen::SpinPool::Get().ParFor(nullptr, CountTask, 0, 64, reinterpret_cast<uint8_t*>(&c)),
      7);
}

int Nested(void*, int i, uint8_t* closure) {
  // Each outer task runs an inner loop over its own row of counters.
  auto* rows = reinterpret_cast<std::vector<std::vector<std::atomic<int>>>*>(closure);
  Counts c{&(*rows)[i]};
  return codegen::SpinPool::Get().ParFor(nullptr, CountTask, 0, 8, reinterpret_cast<uint8_t*>(&c));
}

TEST(SpinPool, NestedLoopsRunInline) {
  std::vector<std::vector<std::atomic<int>>> rows(16);
  for (auto& r : rows) r = std::vector<std::atomic<int>>(8);
  ASSERT_EQ(
      codegen::SpinPool::Get().ParFor(nullptr, Nested, 0, 16, reinterpret_cast<uint8_t*>(&rows)),
      0);
  for (auto& r : rows)
    for (auto& h : r) EXPECT_EQ(h.load(), 1);
}

TEST(SpinPool, ThreadCountChanges) {
  codegen::SpinPool& pool = codegen::SpinPool::Get();
  for (int n : {1, 3, 0}) {
    pool.SetThreads(n);
    EXPECT_GE(pool.threads(), 1);
    std::vector<std::atomic<int>> hits(100);
    Counts c{&hits};
    ASSERT_EQ(pool.ParFor(nullptr, CountTask, 0, 100, reinterpret_cast<uint8_t*>(&c)), 0);
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  }
}

}  // namespace
}  // namespace gptc
