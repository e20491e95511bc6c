// Flags that choose what the fuse pass does, shared by `gptc ir`, `train` and `bench`:
//   --fuse=all|none|p1,p2   the fusion patterns to apply (--no-fuse is --fuse=none)
//   --explain-fusion        print every group formed and every candidate refused, with why
//   --precision=fp32|bf16   the element type of GEMM operands (bf16: mixed precision)
#pragma once

#include "absl/status/statusor.h"
#include "passes/train_graphs.h"
#include "tools/flags.h"

namespace gptc::tools {

void AddFusionFlags(FlagSet& flags);
// Step options with `adamw` and the fusion chosen by the flags; explanations go to stdout.
absl::StatusOr<passes::StepOptions> StepOptionsFromFlags(const FlagSet& flags,
                                                         const passes::AdamWOptions& adamw = {});

// --precision alone, for commands without the other step flags (sample, eval).
void AddPrecisionFlag(FlagSet& flags);
absl::StatusOr<ir::DType> PrecisionFromFlags(const FlagSet& flags);

}  // namespace gptc::tools
