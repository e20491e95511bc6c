// The fused-vs-unfused benchmark cases of a fused graph: for each kind of fused node (each
// named op; for generic fusions, each pattern label and body layout: fusion.elementwise,
// fusion.elementwise.reduction, fusion.elementwise.rows) the first one in the graph (or every
// one, with `every`), as two
// stand-alone graphs over the same inputs: `unfused`, the node's body (the ops it absorbed,
// one kernel each), and `fused`, the node alone (one kernel). Shapes are the graph's own,
// so the cases of a preset's train step measure fusion at that preset's shapes.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace gptc::passes {

struct FusionCase {
  std::string name;   // the fused op, or "fusion.<pattern>[.<layout>]" for generic fusions
  std::string where;  // the first result in the source graph, e.g. "%h.0.res_1"
  ir::Graph unfused;
  ir::Graph fused;
  // Bytes each version reads and writes if every kernel touches each operand and result
  // once: the fused kernel's operands + results; the sum of that over the unfused ops,
  // reshapes excepted (always views). Other layout ops count as kernels here, as they run in
  // the case graphs, which are not memory-planned; in a planned train step the plan may make
  // slices and transposes views too (passes/plan_views.cc).
  int64_t fused_bytes = 0;
  int64_t unfused_bytes = 0;
};

std::vector<FusionCase> FusionCases(const ir::Graph& fused_graph, bool every = false);

}  // namespace gptc::passes
