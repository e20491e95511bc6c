#include "codegen/spin_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "codegen/denormals.h"

namespace gptc::codegen {
namespace {

// How long an idle worker spins before it sleeps: longer than the host-side gap between two
// kernels of a step (a few microseconds), short enough not to burn a core between steps.
constexpr auto kSpin = std::chrono::microseconds(200);

thread_local bool in_task = false;

}  // namespace

// The current job is described under `mu` and numbered by `job`. Its tasks are cut into one
// contiguous slice per thread (thread 0 the caller): each thread claims its own slice's tasks
// in order, then takes what is left of the others' (so a thread held up elsewhere is covered).
// Slices make consecutive kernels that split the same rows the same way (row blocks of
// LayerNorm, GELU, a GEMM's row blocks, attention's (batch, head) pairs) find their rows in
// the core's own cache: one shared counter gave task i to whichever thread came first. A
// slice's counter is (job << 32) | next index, claimed with a compare-and-swap, so a worker
// that still holds an old job's description can never claim a task of a newer one.
struct SpinPool::State {
  static constexpr int kMaxThreads = 256;
  std::mutex mu;
  std::condition_variable wake;
  std::atomic<uint64_t> job{0};
  // Each slice's counter (a job uses the first `threads`).
  std::unique_ptr<std::atomic<uint64_t>[]> next =
      std::make_unique<std::atomic<uint64_t>[]>(kMaxThreads);
  std::atomic<int> remaining{0};
  std::atomic<int> error{0};
  std::atomic<bool> stop{false};
  int sleepers = 0;  // under mu
  // The job, under mu.
  TaskFn task = nullptr;
  void* uc = nullptr;
  uint8_t* closure = nullptr;
  int min = 0, size = 0;
  std::vector<std::thread> workers;
  int threads = 1;

  struct Job {
    uint64_t id;
    TaskFn task;
    void* uc;
    uint8_t* closure;
    int min, size, threads;
  };

  // The first task of thread t's slice (t = threads: one past the last task).
  static int SliceStart(const Job& j, int t) {
    return static_cast<int>(static_cast<int64_t>(j.size) * t / j.threads);
  }

  // Claims and runs the tasks of job j left in slice s, in order.
  void WorkSlice(const Job& j, int s) {
    const int end = SliceStart(j, s + 1);
    std::atomic<uint64_t>& counter = next[s];
    for (;;) {
      uint64_t t = counter.load(std::memory_order_relaxed);
      for (;;) {
        if ((t >> 32) != (j.id & 0xffffffffu) || static_cast<int>(t & 0xffffffffu) >= end) return;
        if (counter.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) break;
      }
      const int i = static_cast<int>(t & 0xffffffffu);
      in_task = true;
      const int rc = j.task(j.uc, j.min + i, j.closure);
      in_task = false;
      if (rc != 0) error.store(rc, std::memory_order_relaxed);
      remaining.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  // Thread `self`'s share of job j: its own slice, then the others'.
  void Work(const Job& j, int self) {
    for (int k = 0; k < j.threads; ++k) WorkSlice(j, (self + k) % j.threads);
  }

  void Worker(int self) {
    FlushDenormals();
    // Not a job finished before it started: SetThreads joins every worker before it changes
    // `threads`, so every job a worker takes was cut into slices for the threads it sees.
    uint64_t seen = job.load(std::memory_order_acquire);
    while (!stop.load(std::memory_order_acquire)) {
      // Spin for new work, then sleep until there is some.
      const auto until = std::chrono::steady_clock::now() + kSpin;
      int polls = 0;
      while (job.load(std::memory_order_acquire) == seen && !stop.load(std::memory_order_relaxed)) {
        _mm_pause();
        if (++polls % 256 == 0 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(mu);
          ++sleepers;
          wake.wait(lock,
                    [&] { return job.load(std::memory_order_acquire) != seen || stop.load(); });
          --sleepers;
          break;
        }
      }
      if (stop.load(std::memory_order_acquire)) return;
      Job j;
      {
        std::lock_guard<std::mutex> lock(mu);
        j = {job.load(std::memory_order_relaxed), task, uc, closure, min, size, threads};
      }
      seen = j.id;
      Work(j, self);
    }
  }
};

SpinPool& SpinPool::Get() {
  static SpinPool* pool = new SpinPool();  // never destroyed: kernels may run until exit
  return *pool;
}

SpinPool::SpinPool() : s_(new State) { SetThreads(0); }

SpinPool::~SpinPool() {
  s_->stop.store(true);
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->wake.notify_all();
  }
  for (std::thread& t : s_->workers) t.join();
  delete s_;
}

void SpinPool::SetThreads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n = std::min(n, State::kMaxThreads);
  if (n == s_->threads && static_cast<int>(s_->workers.size()) == n - 1) return;
  s_->stop.store(true);
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->wake.notify_all();
  }
  for (std::thread& t : s_->workers) t.join();
  s_->workers.clear();
  s_->stop.store(false);
  s_->threads = n;
  for (int i = 1; i < n; ++i) s_->workers.emplace_back([this, i] { s_->Worker(i); });
}

int SpinPool::threads() const { return s_->threads; }

int SpinPool::ParFor(void* uc, TaskFn task, int min, int size, uint8_t* closure) {
  if (size <= 0) return 0;
  if (in_task || size == 1 || s_->threads == 1) {  // nested, trivial or single-threaded: inline
    for (int i = 0; i < size; ++i)
      if (int rc = task(uc, min + i, closure); rc != 0) return rc;
    return 0;
  }
  State& s = *s_;
  State::Job j;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    const uint64_t id = s.job.load(std::memory_order_relaxed) + 1;
    s.task = task;
    s.uc = uc;
    s.closure = closure;
    s.min = min;
    s.size = size;
    s.error.store(0, std::memory_order_relaxed);
    s.remaining.store(size, std::memory_order_relaxed);
    j = {id, task, uc, closure, min, size, s.threads};
    for (int t = 0; t < s.threads; ++t)
      s.next[t].store(((id & 0xffffffffu) << 32) | static_cast<uint64_t>(State::SliceStart(j, t)),
                      std::memory_order_release);
    s.job.store(id, std::memory_order_release);
    if (s.sleepers > 0) s.wake.notify_all();
  }
  s.Work(j, 0);
  while (s.remaining.load(std::memory_order_acquire) > 0) _mm_pause();
  return s.error.load(std::memory_order_relaxed);
}

void SpinPool::Run(int n, const std::function<void(int)>& body) {
  auto task = [](void*, int i, uint8_t* closure) {
    (*reinterpret_cast<const std::function<void(int)>*>(closure))(i);
    return 0;
  };
  ParFor(nullptr, task, 0, n,
         reinterpret_cast<uint8_t*>(const_cast<std::function<void(int)>*>(&body)));
}

int SpinPool::HalideDoParFor(void* uc, TaskFn task, int min, int size, uint8_t* closure) {
  return Get().ParFor(uc, task, min, size, closure);
}

}  // namespace gptc::codegen
