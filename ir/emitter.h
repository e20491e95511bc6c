// Emitter: appends nodes to a graph during a pass, inferring their types with the op's shape
// rule and giving them unique names. A shape-rule failure here is a bug in the pass (its
// rules built a wrong node), so it aborts with the message instead of returning it.
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "ir/graph.h"

namespace gptc::ir {

class Emitter {
 public:
  explicit Emitter(Graph& g);

  // A single-output node named `name` (made unique with _1, _2, ...).
  ValueId Emit(Op op, std::vector<ValueId> inputs, Attrs attrs, const std::string& name);
  // A node with several outputs, one name each.
  std::vector<ValueId> EmitMulti(Op op, std::vector<ValueId> inputs, Attrs attrs,
                                 const std::vector<std::string>& names);
  ValueId Constant(double value, TensorType type, const std::string& name);
  ValueId Decl(Op kind, TensorType type, const std::string& name);  // input, param or state

  std::string Unique(const std::string& base);
  // Renames `v` to `name` (which must be free).
  void Rename(ValueId v, const std::string& name);
  Graph& graph() { return g_; }
  const TensorType& type(ValueId v) const { return g_.value(v).type; }

 private:
  Graph& g_;
  absl::flat_hash_set<std::string> names_;
};

}  // namespace gptc::ir
