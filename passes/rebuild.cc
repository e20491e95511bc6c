#include "passes/rebuild.h"

#include "ir/check.h"

namespace gptc::passes {

std::vector<ir::ValueId> IdentityReplacement(const ir::Graph& g) {
  std::vector<ir::ValueId> r(g.num_values());
  for (ir::ValueId v = 0; v < g.num_values(); ++v) r[v] = v;
  return r;
}

ir::Graph Rebuild(const ir::Graph& g, const std::vector<bool>& keep,
                  const std::vector<ir::ValueId>& replace, const std::vector<ir::NodeId>* order) {
  ir::Graph out(g.name());
  std::vector<ir::ValueId> new_id(g.num_values(), -1);
  auto map = [&](ir::ValueId v) {
    const ir::ValueId m = new_id[replace[v]];
    GPTC_CHECK(m >= 0) << "Rebuild: %" << g.value(v).name << " is used but its node was dropped";
    return m;
  };
  std::vector<ir::NodeId> all;
  if (!order) {
    for (ir::NodeId id = 0; id < g.num_nodes(); ++id)
      if (keep[id]) all.push_back(id);
    order = &all;
  }
  for (ir::NodeId id : *order) {
    const ir::Node& n = g.node(id);
    std::vector<ir::ValueId> ins;
    for (ir::ValueId v : n.inputs) ins.push_back(map(v));
    std::vector<std::pair<std::string, ir::TensorType>> outs;
    for (ir::ValueId v : n.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
    const ir::NodeId nn = out.AddNode(n.op, std::move(ins), n.attrs, outs);
    out.SetBody(nn, n.body);
    for (size_t i = 0; i < n.outputs.size(); ++i) new_id[n.outputs[i]] = out.node(nn).outputs[i];
  }
  for (ir::ValueId v : g.outputs()) out.AddOutput(map(v));
  for (const ir::Graph::Update& u : g.updates()) out.AddUpdate(map(u.target), map(u.value));
  return out;
}

}  // namespace gptc::passes
