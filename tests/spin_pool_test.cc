// The spinning pool that runs every kernel's parallel loops: each index runs exactly once,
// over many back-to-back loops (the way a train step issues them), errors come back, nested
// loops run inline, the thread count can change, and each thread starts on its own slice.
#include "codegen/spin_pool.h"

#include <atomic>
#include <chrono>
#include <thread>
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

// More threads than tasks (empty slices), and slices of unequal sizes.
TEST(SpinPool, EveryIndexRunsOnceWithFewTasksPerThread) {
  codegen::SpinPool& pool = codegen::SpinPool::Get();
  pool.SetThreads(4);
  for (int size : {2, 3, 5, 9}) {
    std::vector<std::atomic<int>> hits(size);
    Counts c{&hits};
    for (int rep = 0; rep < 500; ++rep)
      ASSERT_EQ(pool.ParFor(nullptr, CountTask, 0, size, reinterpret_cast<uint8_t*>(&c)), 0);
    for (int i = 0; i < size; ++i) EXPECT_EQ(hits[i].load(), 500) << "size " << size;
  }
  pool.SetThreads(0);
}

struct Owners {
  std::vector<std::thread::id> of;
};

int RecordOwner(void*, int i, uint8_t* closure) {
  reinterpret_cast<Owners*>(closure)->of[i] = std::this_thread::get_id();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  return 0;
}

// The caller's slice is the first half: it runs tasks 0 and 1 in order, where one shared
// counter handed task 1 to the worker. (The worker could take task 1 only after its own four
// tasks, 12 ms, while the caller spends 3 ms on task 0.) Consecutive kernels that split the
// same rows so keep each row block on one core.
TEST(SpinPool, TheCallerStartsOnItsOwnSlice) {
  codegen::SpinPool& pool = codegen::SpinPool::Get();
  pool.SetThreads(2);
  Owners warm{std::vector<std::thread::id>(2)};
  ASSERT_EQ(pool.ParFor(nullptr, RecordOwner, 0, 2, reinterpret_cast<uint8_t*>(&warm)), 0);
  Owners o{std::vector<std::thread::id>(8)};
  ASSERT_EQ(pool.ParFor(nullptr, RecordOwner, 0, 8, reinterpret_cast<uint8_t*>(&o)), 0);
  EXPECT_EQ(o.of[0], std::this_thread::get_id());
  EXPECT_EQ(o.of[1], std::this_thread::get_id());
  pool.SetThreads(0);
}

}  // namespace
}  // namespace gptc
