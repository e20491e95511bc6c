// Executable: a graph compiled to a list of kernel calls over preallocated buffers.
//
// The graph's memory plan (passes/plan.h) is followed to the byte: one 64-byte aligned arena
// for the step's temporaries, owned regions for gradients and inputs, and the parameters and
// moments as blocks of a StateStore shared by the model's executables. A graph built without
// the plan pass gets PlanNaive's placement (a buffer per value). Layout ops whose result the
// plan made a view run no kernel. Every kernel's halide_buffer_t descriptors point at their
// memory once and for all, so a step allocates nothing: Run() calls the kernels in order,
// copies the outputs out, then copies the updates the plan could not do in place.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/kernel_compiler.h"
#include "ir/graph.h"
#include "ir/literal.h"
#include "runtime/state_store.h"

namespace gptc {

class Executable {
 public:
  // Compiles (or fetches) a kernel for every node. Params and state are declared in `store`
  // (zero if new).
  // `arena`, when given and large enough, is used as the step's arena: executables that
  // never run at the same time (a model's train, eval and sampling steps) share one.
  static absl::StatusOr<std::unique_ptr<Executable>> Create(
      const ir::Graph& g, codegen::KernelCompiler& compiler, StateStore& store,
      std::shared_ptr<AlignedBuffer> arena = nullptr);
  // The bytes of arena a graph's plan asks for (0 for an unplanned graph).
  static int64_t ArenaBytes(const ir::Graph& g);
  ~Executable();

  // Copies an input's value in. Integer inputs used as ids or targets are range-checked here
  // (the kernels only clamp), so a bad token is an error naming the input and position.
  absl::Status SetInput(const std::string& name, const ir::Literal& value);
  // Runs one step; returns the graph's outputs.
  absl::StatusOr<std::vector<ir::Literal>> Run();
  // Runs one step without copying the outputs out (benchmarks; read them with Read()).
  absl::Status Step();
  // The hot path of a training loop, allocating nothing: a scalar f32 input, and one step
  // that returns output `index` (a scalar, such as the loss).
  absl::Status SetScalar(const std::string& name, double value);
  absl::StatusOr<double> RunScalar(int index = 0);
  // Output `index` (an f32[] scalar) of the last step, without running anything.
  absl::StatusOr<double> ScalarOutput(int index) const;
  // A value's current contents (for tests: any value, after Run()).
  absl::StatusOr<ir::Literal> Read(const std::string& name) const;

  // --check-numerics: before a step, every parameter, moment and input, and after each kernel
  // its outputs, are checked for NaN and infinity; the first found stops the step with an
  // error naming the value and the IR line of the node that made it. Slow (reads all memory).
  void EnableNumericChecks(bool on);

  // Per-kernel wall time, accumulated over Run() calls while enabled.
  void EnableProfiling(bool on);
  struct KernelTime {
    std::string node;  // the node's IR line
    std::string kernel;
    std::string schedule;  // the chosen schedule variant, if the kernel had several
    double seconds = 0;
    int64_t calls = 0;
    ir::NodeId node_id = -1;
    double best_seconds = 0;  // the fastest single call (0 before any)
    double SecondsPerCall() const { return seconds / std::max<int64_t>(1, calls); }
  };
  std::vector<KernelTime> Profile() const;
  // Each kernel's fastest call, summed: the step as it runs without a neighbour's load (every
  // one of those times happened in a step), steadier than its median on a shared machine.
  double QuietStepSeconds() const;

  const ir::Graph& graph() const { return graph_; }
  // Bytes of the step's arena (shared or not) and of the owned gradient and input regions.
  int64_t arena_bytes() const;
  int64_t owned_bytes() const;
  int num_kernel_calls() const;

 private:
  Executable() = default;
  absl::Status RunKernels();
  absl::Status CheckNumerics(ir::NodeId node) const;
  void ApplyUpdates();
  struct Impl;
  // Allocates the arena and owned regions, declares params and state in the store, and
  // resolves every value's first element.
  static absl::Status BindMemory(const ir::Graph& g, StateStore& store,
                                 std::shared_ptr<AlignedBuffer> arena, Impl& im);
  std::unique_ptr<Impl> impl_;
  ir::Graph graph_;
};

}  // namespace gptc
