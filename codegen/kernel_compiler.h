// KernelCompiler: KernelSpec -> callable kernel. Lowers to Halide (lower.h), compiles with
// the host target and NoRuntime, keeps the object in the on-disk cache and loads it into one
// shared Jit. Identical specs are compiled once per process; a cache hit skips Halide's
// compile entirely (only the cheap Func definitions run, to learn the argument views).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "codegen/jit.h"
#include "codegen/kernel_spec.h"
#include "codegen/object_cache.h"

namespace gptc::codegen {

struct CompiledKernel {
  KernelFn fn = nullptr;
  std::string name;
  std::string description;
  std::vector<ir::Shape> views;  // the shape the kernel sees for each argument: inputs, outputs
};

struct CompilerStats {
  int compiled = 0;    // compiled by Halide + LLVM in this process
  int cache_hits = 0;  // loaded from the disk cache
  int reused = 0;      // already loaded in this process (layers sharing a kernel)
  double seconds = 0;  // time spent in Get() and Create()
  bool runtime_from_cache = false;
};

struct CompilerOptions {
  std::string cache_dir = ObjectCache::DefaultDir();  // "" disables the disk cache
  int threads = 0;                                    // Halide pool size; 0 = all cores
};

class KernelCompiler {
 public:
  static absl::StatusOr<std::unique_ptr<KernelCompiler>> Create(const CompilerOptions& options = {});
  ~KernelCompiler();

  absl::StatusOr<const CompiledKernel*> Get(const KernelSpec& spec);
  const CompilerStats& stats() const { return stats_; }
  const std::string& target() const { return target_; }
  // Bump when a schedule or lowering changes: it is part of every cache key.
  static constexpr const char* kScheduleVersion = "4";

 private:
  KernelCompiler() = default;
  std::string Key(const KernelSpec& spec) const;

  std::unique_ptr<ObjectCache> cache_;
  std::unique_ptr<Jit> jit_;
  std::string target_;  // Halide target string of the kernels
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledKernel>> kernels_;
  CompilerStats stats_;
};

}  // namespace gptc::codegen
