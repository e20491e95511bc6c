#include "passes/dce.h"

#include "passes/rebuild.h"

namespace gptc::passes {

absl::StatusOr<ir::Graph> DeadCodeElimination(const ir::Graph& g) {
  std::vector<bool> live_value(g.num_values(), false);
  for (ir::ValueId v : g.outputs()) live_value[v] = true;
  for (const ir::Graph::Update& u : g.updates()) live_value[u.value] = live_value[u.target] = true;
  std::vector<bool> keep(g.num_nodes(), false);
  // Nodes are in definition order, so one backward sweep sees every use before its producer.
  for (ir::NodeId id = g.num_nodes() - 1; id >= 0; --id) {
    const ir::Node& n = g.node(id);
    bool live = ir::HasTrait(n.op, ir::kDecl);
    for (ir::ValueId v : n.outputs) live = live || live_value[v];
    if (!live) continue;
    keep[id] = true;
    for (ir::ValueId v : n.inputs) live_value[v] = true;
  }
  return Rebuild(g, keep, IdentityReplacement(g));
}

}  // namespace gptc::passes
