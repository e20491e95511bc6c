// SpinPool: runs the parallel loops of every compiled kernel (installed as Halide's
// do_par_for). A train step is hundreds of kernels back to back, each a few tens of
// microseconds; Halide's default pool puts its workers to sleep between them, and waking a
// sleeping thread costs about as much as a small kernel. Here workers spin (with `pause`)
// for a while after each loop before they sleep, so the next loop starts at once.
//
// The caller runs tasks too; a loop inside a task (nested parallelism) runs serially on
// the thread that reached it. Workers flush denormals to zero, like the caller (DESIGN.md).
#pragma once

#include <cstdint>
#include <functional>

namespace gptc::codegen {

// Halide's task and do_par_for signatures (HalideRuntime.h), without including it here.
using TaskFn = int (*)(void* user_context, int task_number, uint8_t* closure);

class SpinPool {
 public:
  // The process-wide pool (every JIT's runtime is pointed at it).
  static SpinPool& Get();
  // Total threads that run tasks, the caller included; 0 means one per hardware thread.
  void SetThreads(int n);
  int threads() const;

  // Runs task(uc, i, closure) for i in [min, min + size); returns 0 or one task's error.
  int ParFor(void* uc, TaskFn task, int min, int size, uint8_t* closure);
  // Runs body(i) for i in [0, n) (AOT kernels called from the compiled ones: AMX GEMMs).
  void Run(int n, const std::function<void(int)>& body);
  // The same as ParFor as a plain function, for halide_set_custom_do_par_for.
  static int HalideDoParFor(void* uc, TaskFn task, int min, int size, uint8_t* closure);

  ~SpinPool();

 private:
  SpinPool();
  struct State;
  State* s_;
};

}  // namespace gptc::codegen
