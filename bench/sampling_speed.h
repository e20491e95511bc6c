// Sampling speed with the KV cache (the decode graph) against recomputing the window for
// every token, the two paths taking turns; `gptc bench --sampling`.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "codegen/kernel_compiler.h"
#include "frontend/model.h"

namespace gptc {

struct SamplingSpeed {
  int64_t tokens;            // drawn per sample, from a one-character prompt
  double kv_cache_seconds;   // median per sample
  double recompute_seconds;  // median per sample
};

// Two lengths: one block (every token after the first is one decode call) and three blocks
// (past the block each token refills the cropped window, so the cache helps only the first).
// Fails if the two paths draw different text.
absl::StatusOr<std::vector<SamplingSpeed>> MeasureSamplingSpeed(const Model& cfg,
                                                                const codegen::CompilerOptions& co,
                                                                int repeats);

}  // namespace gptc
