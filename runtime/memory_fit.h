// Whether a model's step graphs fit this machine, decided from their memory plans before
// anything is compiled or allocated: a model too big for memory is an error giving the bytes
// it would need, never an allocation failure or a kill by the OOM killer halfway.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ir/graph.h"

namespace gptc {

// Bytes the compiled runtime allocates for these graphs: one arena as large as the largest
// plan's, the parameters and optimiser state once (shared by name), and each graph's own
// gradient and input regions. Unplanned graphs count one buffer per value.
int64_t CompiledBytes(const std::vector<const ir::Graph*>& graphs);
// Bytes the interpreter holds for a graph: every value as float64.
int64_t InterpretedBytes(const ir::Graph& g);
// An error naming `what`, the bytes needed and the bytes available, when `bytes` exceeds
// MemAvailable (unknown availability passes).
absl::Status CheckFits(int64_t bytes, const std::string& what);

}  // namespace gptc
