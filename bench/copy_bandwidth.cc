#include "bench/copy_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "bench/interleaved.h"
#include "codegen/spin_pool.h"

namespace gptc {
namespace {

// Working sets (read + write) that sit in each level of this kind of machine: 48 KB L1d and
// 1 MB L2 per core, 32 MB L3 shared (lscpu), with room to spare. L1 and L2 sets are per
// thread, L3 and DRAM sets are shared by all threads.
struct Level {
  const char* name;
  int64_t bytes;
  bool per_thread;
};
constexpr Level kLevels[] = {{"L1", 32 << 10, true},
                             {"L2", 512 << 10, true},
                             {"L3", 28 << 20, false},
                             {"DRAM", 512 << 20, false}};

double CopyGbps(int64_t working_set, int threads) {
  const int64_t half = working_set / 2 / threads / 64 * 64;  // each thread: src + dst = its share
  std::vector<char*> src(threads), dst(threads);
  for (int t = 0; t < threads; ++t) {
    src[t] = static_cast<char*>(std::aligned_alloc(64, half));
    dst[t] = static_cast<char*>(std::aligned_alloc(64, half));
    std::memset(src[t], 1, half);
    std::memset(dst[t], 0, half);
  }
  // Enough passes for ~20 ms of copying, best of 5 repetitions.
  const int64_t passes = std::max<int64_t>(1, (int64_t{1} << 30) / working_set);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<std::thread> pool;
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int64_t p = 0; p < passes; ++p) {
          std::memcpy(dst[t], src[t], half);
          std::swap(src[t], dst[t]);
        }
      });
    for (auto& th : pool) th.join();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * half * threads * passes / s / 1e9);
  }
  for (int t = 0; t < threads; ++t) {
    std::free(src[t]);
    std::free(dst[t]);
  }
  return best;
}

}  // namespace

std::vector<CopyBandwidth> MeasureCopyBandwidth(int threads) {
  std::vector<CopyBandwidth> out;
  for (const Level& l : kLevels) {
    const int64_t set = l.per_thread ? l.bytes * threads : l.bytes;
    out.push_back({l.name, set, CopyGbps(set, threads)});
  }
  return out;
}

CopyProbe::CopyProbe(int64_t bytes) : half_(std::max<int64_t>(64, bytes / 2 / 64 * 64)) {
  src_ = static_cast<char*>(std::aligned_alloc(64, half_));
  dst_ = static_cast<char*>(std::aligned_alloc(64, half_));
  std::memset(src_, 1, half_);
  std::memset(dst_, 0, half_);
}

CopyProbe::~CopyProbe() {
  std::free(src_);
  std::free(dst_);
}

void CopyProbe::Run() {
  constexpr int kChunks = 16;
  struct Job {
    char* src;
    char* dst;
    int64_t half;
  } job{src_, dst_, half_};
  auto task = [](void*, int i, uint8_t* closure) {
    const Job& j = *reinterpret_cast<Job*>(closure);
    const int64_t per = (j.half / kChunks + 63) / 64 * 64, at = i * per;
    if (at < j.half) std::memcpy(j.dst + at, j.src + at, std::min(per, j.half - at));
    return 0;
  };
  codegen::SpinPool::Get().ParFor(nullptr, task, 0, kChunks, reinterpret_cast<uint8_t*>(&job));
}

double ColdCopySeconds(int64_t bytes, int runs) {
  CopyProbe copy(bytes);
  std::vector<char> evict(size_t{128} << 20);
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    std::memset(evict.data(), r, evict.size());
    const auto start = std::chrono::steady_clock::now();
    copy.Run();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return Median(std::move(t));
}

}  // namespace gptc
