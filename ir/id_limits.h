// The valid range of each integer input: ids, targets and positions index tables, classes and
// caches, and the ops that index with a value bound it. Kernels only clamp, so the runtime
// range-checks inputs against these bounds before a step; `gptc opt --run` draws random
// inputs inside them.
#pragma once

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "ir/graph.h"

namespace gptc::ir {

// Value -> exclusive upper bound (the lower bound is 0), for every i32 value some op indexes
// with; the tightest bound when several do.
absl::flat_hash_map<ValueId, int64_t> IdLimits(const Graph& g);

}  // namespace gptc::ir
