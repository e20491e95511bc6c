#include "ir/graph.h"

#include "ir/check.h"

namespace gptc::ir {

NodeId Graph::AddNode(Op op, std::vector<ValueId> inputs, Attrs attrs,
                      const std::vector<std::pair<std::string, TensorType>>& outputs) {
  const NodeId id = static_cast<NodeId>(nodes_.size());
  Node n;
  n.op = op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ValueId v = static_cast<ValueId>(values_.size());
    values_.push_back(
        Value{outputs[i].first, outputs[i].second, id, static_cast<int>(i), Placement()});
    by_name_.emplace(outputs[i].first, v);  // keeps the first definition
    n.outputs.push_back(v);
  }
  nodes_.push_back(std::move(n));
  return id;
}

ValueId Graph::AddValueNode(Op op, std::vector<ValueId> inputs, Attrs attrs, std::string name,
                            TensorType type) {
  const NodeId n = AddNode(op, std::move(inputs), std::move(attrs), {{std::move(name), type}});
  return nodes_[n].outputs[0];
}

ValueId Graph::AddInput(std::string name, TensorType type) {
  return AddValueNode(Op::kInput, {}, {}, std::move(name), std::move(type));
}

ValueId Graph::AddParam(std::string name, TensorType type, bool decay) {
  Attrs attrs;
  if (decay) attrs.Set("decay", true);
  return AddValueNode(Op::kParam, {}, std::move(attrs), std::move(name), std::move(type));
}

void Graph::RenameValue(ValueId v, std::string name) {
  auto it = by_name_.find(values_[v].name);
  if (it != by_name_.end() && it->second == v) by_name_.erase(it);
  by_name_.emplace(name, v);
  values_[v].name = std::move(name);
}

std::optional<ValueId> Graph::FindValue(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<ValueId> Graph::Decls(Op kind) const {
  std::vector<ValueId> out;
  for (const Node& n : nodes_)
    if (n.op == kind) out.push_back(n.outputs[0]);
  return out;
}

}  // namespace gptc::ir

namespace gptc::ir {

bool Graph::planned() const {
  for (const Value& v : values_)
    if (v.place.kind != Placement::Kind::kNone) return true;
  return false;
}

}  // namespace gptc::ir
