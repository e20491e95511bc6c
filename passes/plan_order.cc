// A memory-aware execution order: list scheduling that runs, among the ready nodes, the one
// that allocates the least net memory (its results minus the operands it is the last reader
// of), ties going to the original order. After PyTorch Inductor's reorder_for_peak_memory;
// the planner keeps it only when it gives a smaller arena than the order it was given.
#include <queue>

#include "passes/plan_internal.h"

namespace gptc::passes::plan {

std::vector<ir::NodeId> GreedyMemoryOrder(const ir::Graph& g) {
  const int nn = g.num_nodes(), nv = g.num_values();
  std::vector<int> missing(nn, 0), readers(nv, 0);
  std::vector<std::vector<ir::NodeId>> users(nv);
  std::vector<bool> kept(nv, false);  // returned, updated from, or declared: never freed
  for (ir::ValueId v : g.outputs()) kept[v] = true;
  for (const ir::Graph::Update& u : g.updates()) kept[u.value] = true;
  std::vector<ir::NodeId> order;
  for (ir::NodeId id = 0; id < nn; ++id) {
    const ir::Node& n = g.node(id);
    if (ir::HasTrait(n.op, ir::kDecl)) {
      order.push_back(id);
      kept[n.outputs[0]] = true;
      continue;
    }
    std::vector<ir::ValueId> ins = n.inputs;
    std::sort(ins.begin(), ins.end());
    ins.erase(std::unique(ins.begin(), ins.end()), ins.end());
    for (ir::ValueId v : ins) {
      ++readers[v];
      users[v].push_back(id);
      if (!ir::HasTrait(g.node(g.value(v).producer).op, ir::kDecl)) ++missing[id];
    }
  }
  auto cost = [&](ir::NodeId id) {
    const ir::Node& n = g.node(id);
    int64_t c = 0;
    if (n.op != ir::Op::kReshape)
      for (ir::ValueId v : n.outputs) c += ValueBytes(g.value(v));
    for (ir::ValueId v : n.inputs)
      if (!kept[v] && readers[v] == 1) c -= ValueBytes(g.value(v));
    return c;
  };
  std::vector<ir::NodeId> ready;
  for (ir::NodeId id = 0; id < nn; ++id)
    if (!ir::HasTrait(g.node(id).op, ir::kDecl) && missing[id] == 0) ready.push_back(id);
  while (!ready.empty()) {
    size_t best = 0;
    int64_t best_cost = cost(ready[0]);
    for (size_t i = 1; i < ready.size(); ++i) {
      const int64_t c = cost(ready[i]);
      if (c < best_cost || (c == best_cost && ready[i] < ready[best])) best = i, best_cost = c;
    }
    const ir::NodeId id = ready[best];
    ready.erase(ready.begin() + static_cast<std::ptrdiff_t>(best));
    order.push_back(id);
    std::vector<ir::ValueId> ins = g.node(id).inputs;
    std::sort(ins.begin(), ins.end());
    ins.erase(std::unique(ins.begin(), ins.end()), ins.end());
    for (ir::ValueId v : ins) --readers[v];
    for (ir::ValueId v : g.node(id).outputs)
      for (ir::NodeId u : users[v])
        if (--missing[u] == 0) ready.push_back(u);
  }
  return order;
}

}  // namespace gptc::passes::plan
