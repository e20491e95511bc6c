// Graphs shared by several tests.
#pragma once

#include "ir/graph.h"

namespace gptc::testing {

// A small verified graph that uses every op of ops.def at least once (tests assert this, so a
// new op must be added here, which puts it under the round-trip and interpreter tests).
ir::Graph AllOpsGraph();

}  // namespace gptc::testing
