// KernelCompiler: KernelSpec -> callable kernel. Lowers to Halide (lower.h), compiles with
// the host target and NoRuntime, keeps the object in the on-disk cache and loads it into one
// shared Jit. Identical specs are compiled once per process; a cache hit skips Halide's
// compile entirely (only the cheap Func definitions run, to learn the argument views).
//
// A kernel with several schedule variants (GEMM tiles) is tuned: every candidate is compiled
// and timed on scratch buffers of the real shape, and the fastest is kept. The choice is
// cached on disk next to the objects, so a warm start loads only the winner.
#pragma once

#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "codegen/jit.h"
#include "codegen/kernel_spec.h"
#include "codegen/object_cache.h"

namespace gptc::codegen {

namespace lower {
struct Ctx;
}

struct CompiledKernel {
  KernelFn fn = nullptr;
  std::string name;
  std::string description;
  std::string schedule;          // the chosen variant ("" when the lowering has only one)
  std::vector<ir::Shape> views;  // the shape the kernel sees for each argument: inputs, outputs
  // Per argument, the element stride of each axis of its view; empty when row-major (dense).
  std::vector<std::vector<int64_t>> strides;
  // The IR arguments (inputs, then outputs numbered after them) the kernel takes, in order,
  // when not all of them; views and strides are then per entry of this list.
  std::vector<int> args;
};

struct CompilerStats {
  int compiled = 0;    // compiled by Halide + LLVM in this process
  int cache_hits = 0;  // loaded from the disk cache
  int reused = 0;      // already loaded in this process (layers sharing a kernel)
  int tuned = 0;       // kernels whose schedule was chosen by timing candidates here
  double seconds = 0;  // time spent in Get() and Create()
  bool runtime_from_cache = false;
};

struct CompilerOptions {
  std::string cache_dir = ObjectCache::DefaultDir();  // "" disables the disk cache
  int threads = 0;                                    // Halide pool size; 0 = all cores
  bool tune = true;         // time schedule candidates; false keeps each lowering's first guess
  int variant = -1;         // >= 0: use this variant (clamped) of every multi-variant kernel; tests
  int compile_threads = 0;  // Prepare()'s parallel compiles; 0 = all cores
};

class KernelCompiler {
 public:
  static absl::StatusOr<std::unique_ptr<KernelCompiler>> Create(
      const CompilerOptions& options = {});
  ~KernelCompiler();

  absl::StatusOr<const CompiledKernel*> Get(const KernelSpec& spec);
  // Compiles the kernels (every schedule candidate to be tuned) that Get() will need for
  // `specs`, in parallel threads, into the disk cache and memory; Get() then loads them.
  // Cold starts are compile-bound: this divides them by the number of cores.
  absl::Status Prepare(const std::vector<KernelSpec>& specs);
  const CompilerStats& stats() const { return stats_; }
  const std::string& target() const { return target_; }
  // Part of every cache key, with a hash of the lowering sources (codegen_hash.h, made by
  // the build), so changed lowerings never load stale objects. Bump for changes elsewhere
  // that alter kernels (the argument order of kernel_compiler.cc, say), and for new schedule
  // candidates: recorded tuning choices are kept while their schedule still exists and the
  // tuned kernels' sources are unchanged (7: the packed GEMM nest; 8: the tuner's samples
  // spread over 30 ms, as choices made inside one burst of load were kept for good).
  static constexpr const char* kScheduleVersion = "8";

  // One schedule variant of `spec`, compiled (or loaded) but not registered as the spec's
  // kernel: the tuner's candidates, and tests that check every candidate.
  absl::StatusOr<std::unique_ptr<CompiledKernel>> Build(const KernelSpec& spec, int variant);
  // How many schedule variants the lowering of `spec` offers.
  absl::StatusOr<int> NumVariants(const KernelSpec& spec);
  // Where the tuning choice of `spec` is recorded in the cache: keyed by the tuned kernels'
  // sources (tuning_hash.h), not by the whole lowering's hash. Public for tests that forge
  // recorded choices.
  std::string ChoiceKey(const KernelSpec& spec) const;

 private:
  KernelCompiler() = default;
  std::string Key(const KernelSpec& spec) const;
  // Lowers `spec` into ctx and returns its object: from memory (Prepare), the disk cache, or
  // compiled now (and stored). Thread-safe.
  absl::StatusOr<std::string> ObjectFor(const KernelSpec& spec, lower::Ctx& ctx, std::string* name);
  // The variants Get() builds: the recorded tuning choice, all candidates, or the first.
  std::vector<int> VariantsToBuild(const KernelSpec& spec, int variants) const;
  struct Choice {
    int variant;
    std::string schedule;  // its name when it was chosen
  };
  std::optional<Choice> RecordedChoice(const KernelSpec& spec, int variants) const;
  // Times every variant, keeps the fastest and records the choice in the cache.
  absl::StatusOr<std::unique_ptr<CompiledKernel>> Tune(const KernelSpec& spec, int variants);

  CompilerOptions options_;
  std::unique_ptr<ObjectCache> cache_;
  // The Halide runtime's object (from the cache, or being compiled) and the JIT made from it
  // when the first kernel is linked.
  std::future<absl::StatusOr<std::string>> runtime_;
  std::unique_ptr<Jit> jit_;
  absl::Status EnsureJit();
  std::string target_;  // Halide target string of the kernels
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledKernel>> kernels_;
  static void DescribeArguments(const lower::Ctx& ctx, CompiledKernel* kernel);
  // A kernel Prepare() lowered and compiled (or loaded), not yet linked.
  struct Prepared {
    std::string object;
    CompiledKernel kernel;  // name, views, strides, schedule
  };
  std::mutex mu_;  // guards prepared_ and stats_ during Prepare()
  absl::flat_hash_map<std::string, Prepared> prepared_;  // by Key(spec) + "#" + variant
  CompilerStats stats_;
};

}  // namespace gptc::codegen
