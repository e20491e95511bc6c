// The graph IR: SSA values produced by nodes. Graph arguments (inputs and parameters) are
// nodes too (ops `input` and `param`), so every value has exactly one producer.
//
// The graph itself enforces nothing beyond index validity; Verify() (verifier.h) checks
// arity, types, definition order, cycles and names, so passes and the parser may build a
// graph freely and verify once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "ir/attrs.h"
#include "ir/op.h"
#include "ir/placement.h"
#include "ir/types.h"

namespace gptc::ir {

using ValueId = int32_t;
using NodeId = int32_t;

struct Value {
  std::string name;  // without the leading '%'
  TensorType type;
  NodeId producer = -1;
  int output_index = 0;
  Placement place;  // set by the memory planner (passes/plan.h); kNone before
};

class Graph;

struct Node {
  Op op = Op::kInput;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  Attrs attrs;
  // Fused ops only: the ops the node absorbed, as a graph whose `input` declarations are the
  // node's operands (same order, names and types) and whose outputs are its results.
  // Immutable and shared between copies of the graph.
  std::shared_ptr<const Graph> body;
};

class Graph {
 public:
  explicit Graph(std::string name = "main") : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }

  // Appends a node whose output types are already known. Returns the node id.
  NodeId AddNode(Op op, std::vector<ValueId> inputs, Attrs attrs,
                 const std::vector<std::pair<std::string, TensorType>>& outputs);
  // Convenience for the common single-output case; returns the output value.
  ValueId AddValueNode(Op op, std::vector<ValueId> inputs, Attrs attrs, std::string name,
                       TensorType type);
  ValueId AddInput(std::string name, TensorType type);
  // A parameter; `decay` marks it as one AdamW decays (attribute decay=true on its
  // declaration, printed `param decay`). Which parameters decay is the model's choice.
  ValueId AddParam(std::string name, TensorType type, bool decay = false);

  // State updates of a step: after the step runs, `target` (a param or state declaration)
  // takes the value of `value`. Printed as `update %target <- %value`.
  struct Update {
    ValueId target;
    ValueId value;
  };
  void AddUpdate(ValueId target, ValueId value) { updates_.push_back({target, value}); }
  const std::vector<Update>& updates() const { return updates_; }

  void AddOutput(ValueId v) { outputs_.push_back(v); }
  void set_outputs(std::vector<ValueId> v) { outputs_ = std::move(v); }

  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& mutable_nodes() { return nodes_; }
  const Node& node(NodeId id) const { return nodes_[id]; }
  const std::vector<Value>& values() const { return values_; }
  const Value& value(ValueId id) const { return values_[id]; }
  Value& mutable_value(ValueId id) { return values_[id]; }
  const std::vector<ValueId>& outputs() const { return outputs_; }
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  int num_values() const { return static_cast<int>(values_.size()); }

  void SetBody(NodeId id, std::shared_ptr<const Graph> body) { nodes_[id].body = std::move(body); }

  // True when the memory planner has placed the values (any value has a placement).
  bool planned() const;

  // Renames a value (the caller keeps names unique; Verify() checks).
  void RenameValue(ValueId v, std::string name);

  // Looks a value up by name (first definition wins if names repeat).
  std::optional<ValueId> FindValue(const std::string& name) const;

  // The declarations of one kind, in order, as value ids.
  std::vector<ValueId> Inputs() const { return Decls(Op::kInput); }
  std::vector<ValueId> Params() const { return Decls(Op::kParam); }
  std::vector<ValueId> States() const { return Decls(Op::kState); }
  std::vector<ValueId> Decls(Op kind) const;

 private:
  std::string name_;
  std::vector<Node> nodes_;
  std::vector<Value> values_;
  std::vector<ValueId> outputs_;
  std::vector<Update> updates_;
  absl::flat_hash_map<std::string, ValueId> by_name_;
};

}  // namespace gptc::ir
