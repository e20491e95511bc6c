#include "passes/cse.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "passes/rebuild.h"

namespace gptc::passes {

absl::StatusOr<ir::Graph> CommonSubexpressionElimination(const ir::Graph& g) {
  std::vector<ir::ValueId> replace = IdentityReplacement(g);
  std::vector<bool> keep(g.num_nodes(), true);
  absl::flat_hash_map<std::string, ir::NodeId> seen;
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (ir::HasTrait(n.op, ir::kDecl)) continue;
    std::string key = absl::StrCat(ir::OpName(n.op), "|", ir::AttrsToString(n.attrs), "|");
    for (ir::ValueId v : n.inputs) absl::StrAppend(&key, replace[v], ",");
    for (ir::ValueId v : n.outputs) absl::StrAppend(&key, "|", ir::TypeToString(g.value(v).type));
    auto [it, inserted] = seen.emplace(key, id);
    if (inserted) continue;
    keep[id] = false;
    const ir::Node& first = g.node(it->second);
    for (size_t i = 0; i < n.outputs.size(); ++i) replace[n.outputs[i]] = first.outputs[i];
  }
  return Rebuild(g, keep, replace);
}

}  // namespace gptc::passes
