// The steps of the memory planner (plan.cc drives them). Internal to passes/.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/plan.h"

namespace gptc::passes::plan {

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

inline int64_t ValueBytes(const ir::Value& v) {
  return v.type.bytes();
}

// Node positions: declarations at -1, node i at i; a value returned or used by an update is
// read "forever" (after the step).
struct Liveness {
  std::vector<int64_t> def, last;  // by value
};
Liveness ComputeLiveness(const ir::Graph& g);

// Candidate execution orders of g's nodes (declarations first, then a topological order).
std::vector<ir::NodeId> GreedyMemoryOrder(const ir::Graph& g);
// Moves each node whose result outweighs what moving it keeps alive (the operands no later
// node reads) to just before its first reader, and layout ops (views) with their readers:
// the greedy order runs cheap nodes as soon as they are ready (a bf16 activation widened back
// for the backward pass would be, right after the forward pass) and they then hold their
// result for no reason. `kept`: values never freed.
void SinkAllocations(const ir::Graph& g, const std::vector<bool>& kept,
                     std::vector<ir::NodeId>& order);

// Slices, transposes and concats that move no data (plan_views.cc): sets kView placements.
void PlaceStridedViews(ir::Graph& g);
// Strides of shape `to` seeing the elements of `from` (laid out with `strides`) in row-major
// order, when a reshape can do that without a copy.
std::optional<std::vector<int64_t>> ComposeReshape(const ir::Shape& from,
                                                   const std::vector<int64_t>& strides,
                                                   const ir::Shape& to);

// Sets kView and kInPlace placements and the persistent regions' kMemory placements.
void AssignAliases(ir::Graph& g, const PlanOptions& options);

// The memory a value uses: itself for kMemory (and for a value without placement yet),
// else its base's root.
ir::ValueId RootOf(const ir::Graph& g, ir::ValueId v);

// One buffer to place in the arena: live over [begin, end] (node positions), `bytes` long.
struct Interval {
  ir::ValueId root;
  int64_t begin, end, bytes;
};
// The arena's buffers: every root not placed in a persistent region, with the span of all
// its aliases.
std::vector<Interval> ArenaIntervals(const ir::Graph& g);
// Most bytes live at one position: no placement can use less.
int64_t PeakLiveBytes(const std::vector<Interval>& items);

struct ArenaAssignment {
  std::vector<int64_t> offset;  // by interval
  int64_t size = 0;
  std::string strategy;
};
// Best fit under several orders of placement; the smallest arena wins.
ArenaAssignment AssignOffsets(const std::vector<Interval>& items);

}  // namespace gptc::passes::plan
