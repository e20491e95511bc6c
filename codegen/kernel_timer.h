// Times one compiled kernel on scratch buffers of its argument views (random floats, zero
// integers, so indices stay in range). Used to choose among a kernel's schedule variants on
// the real shapes; the result is the best of a few runs, which is what the noise of a shared
// machine leaves comparable.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "codegen/jit.h"
#include "ir/literal.h"
#include "ir/types.h"

namespace gptc::codegen {

struct KernelArgs {
  std::vector<ir::Shape> views;   // inputs then outputs, as the kernel sees them
  std::vector<ir::DType> dtypes;  // one per view
};

// Best-of-`runs` seconds per call after one warm-up call; an error if the kernel fails.
absl::StatusOr<double> TimeKernel(KernelFn fn, const KernelArgs& args, int runs);

}  // namespace gptc::codegen
