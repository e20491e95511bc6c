// Times compiled kernels on scratch buffers of their argument views (random floats, zero
// integers, so indices stay in range). Used to choose among a kernel's schedule variants on
// the real shapes. The buffers are made once and shared by every variant timed.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/jit.h"
#include "ir/literal.h"
#include "ir/types.h"

namespace gptc::codegen {

struct KernelArgs {
  std::vector<ir::Shape> views;               // inputs then outputs, as the kernel sees them
  std::vector<ir::DType> dtypes;              // one per view
  std::vector<std::vector<int64_t>> strides;  // per view; empty = row-major
};

class KernelTimer {
 public:
  static absl::StatusOr<std::unique_ptr<KernelTimer>> Create(const KernelArgs& args);
  ~KernelTimer();
  // Best-of-`runs` seconds per call after one warm-up call; an error if the kernel fails.
  absl::StatusOr<double> Time(KernelFn fn, int runs);
  // The same memory seen through other views of the same arguments (variants of a kernel may
  // see a result in other dimensions, e.g. the attention's blocks of queries); an error if a
  // view reaches past its buffer.
  absl::Status SetViews(const std::vector<ir::Shape>& views,
                        const std::vector<std::vector<int64_t>>& strides);

 private:
  KernelTimer() = default;
  struct Buffers;  // halide_buffer_t descriptors and their memory (HalideRuntime.h stays in the
                   // .cc)
  std::unique_ptr<Buffers> b_;
};

}  // namespace gptc::codegen
