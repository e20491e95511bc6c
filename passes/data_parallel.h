// Data parallelism: the gradients of a train step averaged over the replicas of an mpirun job
// (runtime/communicator.h), between autodiff and the optimizer.
//
// Every gradient output `%grad.<param>` of the autodiff graph is renamed `%grad.<param>.local`
// and one all_reduce node, whose results take the `%grad.<param>` names, averages them all:
// AdamW then reads the mean gradient, clips by its norm and applies the same update on every
// replica. The memory plan puts `%grad.*` in one block in parameter order, so the runtime
// reduces the whole block with one MPI call.
#pragma once

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

absl::StatusOr<ir::Graph> AllReduceGradients(const ir::Graph& g);

}  // namespace gptc::passes
