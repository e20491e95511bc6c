// What a memory plan achieves, in numbers (`gptc mem`, `gptc bench`, the README's table).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace gptc::passes {

struct MemoryReport {
  std::string graph;
  int64_t naive_bytes = 0;        // every value computed in the step in a buffer of its own
  int64_t planned_bytes = 0;      // the arena
  int64_t lower_bound_bytes = 0;  // most bytes live at one point of the order
  double fragmentation = 0;       // (arena - bound) / arena
  int64_t persistent_bytes[ir::kNumRegions] = {};  // by region; [kArena] unused
  int64_t persistent_total = 0;
  int64_t peak_position = -1;  // the node index where the bound is reached
  std::string peak_node;       // its IR line
  std::vector<std::pair<std::string, int64_t>> peak_tensors;  // the largest live there
  int copy_kernels = 0;         // slice, transpose and concat nodes that still copy
  int views = 0, in_place = 0;  // values placed as views, values written in place
};

// Measures a planned graph (an unplanned one gives zeros for the plan's numbers).
MemoryReport AnalyzePlan(const ir::Graph& g, int top = 10);

}  // namespace gptc::passes
