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
  SinkAllocations(g, kept, order);
  return order;
}

void SinkAllocations(const ir::Graph& g, const std::vector<bool>& kept,
                     std::vector<ir::NodeId>& order) {
  const int nn = static_cast<int>(order.size());
  std::vector<int> pos(g.num_nodes());
  auto reindex = [&] {
    for (int p = 0; p < nn; ++p) pos[order[p]] = p;
  };
  reindex();
  // The last position, other than `skip`, that reads v in the current order (-1: none).
  auto last_read = [&](ir::ValueId v, int skip) {
    int last = -1;
    for (ir::NodeId id : order)
      for (ir::ValueId in : g.node(id).inputs)
        if (in == v && pos[id] != skip) last = std::max(last, pos[id]);
    return last;
  };
  for (int p = nn - 1; p >= 0; --p) {
    const ir::Node& n = g.node(order[p]);
    if (ir::HasTrait(n.op, ir::kDecl)) continue;
    int first_use = nn;
    for (ir::ValueId v : n.outputs)
      for (int q = p + 1; q < nn; ++q) {
        bool reads = false;
        for (ir::ValueId in : g.node(order[q]).inputs) reads = reads || in == v;
        if (reads) {
          first_use = std::min(first_use, q);
          break;
        }
      }
    bool kept_out = false;
    for (ir::ValueId v : n.outputs) kept_out = kept_out || kept[v];
    if (kept_out || first_use == nn || first_use <= p + 1) continue;
    // Layout ops are views here (no bytes of their own): they always sink with their readers,
    // so that a chain of views sinks as a whole.
    const bool view =
        n.op == ir::Op::kReshape || n.op == ir::Op::kSlice || n.op == ir::Op::kTranspose;
    int64_t net = 0;
    if (!view)
      for (ir::ValueId v : n.outputs) net += ValueBytes(g.value(v));
    std::vector<ir::ValueId> ins = n.inputs;
    std::sort(ins.begin(), ins.end());
    ins.erase(std::unique(ins.begin(), ins.end()), ins.end());
    // Its operands that no later node reads now live until the new position: they count
    // against the bytes its result no longer holds there.
    for (ir::ValueId v : ins)
      if (!kept[v] && last_read(v, p) < first_use - 1) net -= ValueBytes(g.value(v));
    if (!view && net <= 0) continue;
    const ir::NodeId id = order[p];
    order.erase(order.begin() + p);
    order.insert(order.begin() + (first_use - 1), id);
    reindex();
  }
}

}  // namespace gptc::passes::plan
