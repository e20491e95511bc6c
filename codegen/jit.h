// Jit: one LLVM 14 ORC LLJIT holding the Halide runtime (compiled once, as its own object)
// and every kernel object. Kernels are called through their `<name>_argv(void**)` entry.
// LLVM headers stay in jit.cc.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace gptc::codegen {

using KernelFn = int (*)(void** args);

class Jit {
 public:
  // Creates the JIT and loads the Halide runtime object (built by the caller's cache).
  static absl::StatusOr<std::unique_ptr<Jit>> Create(const std::string& runtime_object);
  ~Jit();  // shuts the Halide thread pool down first (else the process crashes at exit)

  absl::Status AddObject(const std::string& bytes, const std::string& name);
  absl::StatusOr<void*> Lookup(const std::string& symbol);
  // Sets the size of the pool that runs parallel loops (caller + workers; codegen/spin_pool.h);
  // 0 keeps the default, one thread per hardware thread.
  absl::Status SetThreads(int n);

 private:
  Jit() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gptc::codegen
