// Two builds of one preset's train step (fusion on vs off, planned vs one buffer per value)
// timed step by step in turn on the same batch: `gptc bench --plan-compare` and the whole-step
// rows of `gptc bench --fusion`.
#pragma once

#include "absl/status/statusor.h"
#include "codegen/kernel_compiler.h"
#include "frontend/model.h"
#include "passes/plan_report.h"
#include "passes/train_graphs.h"

namespace gptc {

struct StepComparison {
  double seconds[2];  // median per step
  // Each kernel's fastest call in those steps, summed: the step without a neighbour's load
  // (gptc bench's "quiet step"), steadier than the medians on a shared machine.
  double quiet_seconds[2];
  int kernel_calls[2];
  passes::MemoryReport memory[2];  // of each train step's graph
};

absl::StatusOr<StepComparison> CompareTrainSteps(const Model& cfg, const passes::StepOptions& a,
                                                 const passes::StepOptions& b,
                                                 const codegen::CompilerOptions& co, int steps);

}  // namespace gptc
