#include "ir/id_limits.h"

#include <algorithm>

namespace gptc::ir {

absl::flat_hash_map<ValueId, int64_t> IdLimits(const Graph& g) {
  absl::flat_hash_map<ValueId, int64_t> limits;
  auto limit = [&](ValueId v, int64_t n) {
    // Ids reach their reader through reshapes and slices (chunked cross-entropy): the limit
    // belongs to the value they were cut from, which the runtime checks.
    for (const Node* p = &g.node(g.value(v).producer); p->op == Op::kReshape || p->op == Op::kSlice;
         p = &g.node(g.value(v).producer))
      v = p->inputs[0];
    auto [it, inserted] = limits.emplace(v, n);
    if (!inserted) it->second = std::min(it->second, n);
  };
  for (const Node& n : g.nodes()) {
    if (n.op == Op::kEmbedding) limit(n.inputs[1], g.value(n.inputs[0]).type.shape[0]);
    if (n.op == Op::kXent || n.op == Op::kXentGrad || n.op == Op::kSoftmaxXent ||
        n.op == Op::kSoftmaxXentGrad)
      limit(n.inputs[1], g.value(n.inputs[0]).type.shape.back());
    if (n.op == Op::kEmbeddingGrad) limit(n.inputs[0], *n.attrs.GetInt("rows"));
    if (n.op == Op::kGather)
      limit(n.inputs[1], g.value(n.inputs[0]).type.shape[*n.attrs.GetInt("axis")]);
    if (n.op == Op::kGatherGrad) limit(n.inputs[0], *n.attrs.GetInt("size"));
    if (n.op == Op::kCacheWrite) {  // the new rows must fit: pos <= T - S
      const Shape& cache = g.value(n.inputs[0]).type.shape;
      limit(n.inputs[2],
            cache[cache.size() - 2] - g.value(n.inputs[1]).type.shape[cache.size() - 2] + 1);
    }
  }
  return limits;
}

}  // namespace gptc::ir
