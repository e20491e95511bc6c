// Times a fusion case (passes/fusion_cases.h): the unfused ops as separate kernels against
// the fused kernel, compiled by the same compiler, on the same random inputs, and a plain
// copy of the fused kernel's bytes, interleaved run by run so that load on a shared machine
// hits all three alike.
#pragma once

#include "absl/status/statusor.h"
#include "codegen/kernel_compiler.h"
#include "passes/fusion_cases.h"

namespace gptc {

struct FusionTiming {
  double fused_seconds = 0;    // median over the runs
  double unfused_seconds = 0;  // median over the runs
  double copy_seconds = 0;     // median of a copy moving the fused kernel's bytes (CopyProbe)
  int unfused_kernels = 0;
  double max_abs_diff = 0;  // largest |fused - unfused| over every result
};

absl::StatusOr<FusionTiming> TimeFusionCase(const passes::FusionCase& c,
                                            codegen::KernelCompiler& compiler, int runs);

}  // namespace gptc
