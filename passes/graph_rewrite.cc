#include "passes/graph_rewrite.h"

#include "ir/status_macros.h"
#include "ir/verifier.h"

namespace gptc::passes::rewrite {

// The body of fused node `id` of `out`, its inputs declared with the types and names of the
// node's operands in `out` (a bf16 operand: the body's matmul then reads it as it comes; the
// text form names a body's inputs by the fused node's operands).
std::shared_ptr<const ir::Graph> MatchBody(const ir::Graph& out, ir::NodeId id,
                                           const std::shared_ptr<const ir::Graph>& body) {
  if (!body) return body;
  const ir::Node& n = out.node(id);
  bool same = true;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const ir::Value& b = body->value(body->node(static_cast<ir::NodeId>(i)).outputs[0]);
    same = same && b.name == out.value(n.inputs[i]).name && b.type == out.value(n.inputs[i]).type;
  }
  if (same) return body;
  auto b = std::make_shared<ir::Graph>(*body);
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const ValueId v = b->node(static_cast<ir::NodeId>(i)).outputs[0];
    b->mutable_value(v).type = out.value(n.inputs[i]).type;
    b->RenameValue(v, out.value(n.inputs[i]).name);
  }
  return b;
}

// Node n of g appended to `out` with operands `ins` (its body matched to them); its results
// mapped in `map`. Returns the new node.
ir::NodeId CopyNode(const ir::Graph& g, const ir::Node& n, std::vector<ValueId> ins, ir::Graph& out,
                    std::vector<ValueId>& map) {
  std::vector<std::pair<std::string, ir::TensorType>> outs;
  for (ValueId v : n.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
  const ir::NodeId id = out.AddNode(n.op, std::move(ins), n.attrs, outs);
  out.SetBody(id, MatchBody(out, id, n.body));
  for (size_t i = 0; i < n.outputs.size(); ++i) map[n.outputs[i]] = out.node(id).outputs[i];
  return id;
}

// `out` with g's outputs and updates, through `map`, verified.
absl::StatusOr<ir::Graph> Finish(const ir::Graph& g, ir::Graph out,
                                 const std::vector<ValueId>& map) {
  for (ValueId v : g.outputs()) out.AddOutput(map[v]);
  for (const ir::Graph::Update& u : g.updates()) out.AddUpdate(map[u.target], map[u.value]);
  RETURN_IF_ERROR(ir::Verify(out));
  return out;
}

}  // namespace gptc::passes::rewrite
