// Helpers of the passes that rewrite a graph node by node into a new one (the mixed-precision
// steps): copying a node with its body, unique names, the readers of each value, and the
// finished graph, verified.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ir/graph.h"

namespace gptc::passes::rewrite {

using ir::Op;
using ir::ValueId;

// The body of fused node `id` of `out`, its inputs declared with the types and names of the
// node's operands in `out` (a bf16 operand: the body's matmul then reads it as it comes; the
// text form names a body's inputs by the fused node's operands).
std::shared_ptr<const ir::Graph> MatchBody(const ir::Graph& out, ir::NodeId id,
                                           const std::shared_ptr<const ir::Graph>& body);

inline bool MovesData(Op op) {
  return op == Op::kSlice || op == Op::kReshape || op == Op::kTranspose;
}

// Names not yet taken in a graph being rewritten: `base`, else base_1, base_2, ...
class UniqueNames {
 public:
  explicit UniqueNames(const ir::Graph& g) {
    for (const ir::Value& v : g.values()) taken_.insert(v.name);
  }
  std::string operator()(const std::string& base) {
    std::string name = base;
    for (int i = 1; taken_.count(name); ++i) name = absl::StrCat(base, "_", i);
    taken_.insert(name);
    return name;
  }

 private:
  absl::flat_hash_set<std::string> taken_;
};

// Node n of g appended to `out` with operands `ins` (its body matched to them); its results
// mapped in `map`. Returns the new node.
ir::NodeId CopyNode(const ir::Graph& g, const ir::Node& n, std::vector<ValueId> ins, ir::Graph& out,
                    std::vector<ValueId>& map);

// `out` with g's outputs and updates, through `map`, verified.
absl::StatusOr<ir::Graph> Finish(const ir::Graph& g, ir::Graph out,
                                 const std::vector<ValueId>& map);

// Which nodes read each value, and whether the graph returns or updates it.
struct Readers {
  explicit Readers(const ir::Graph& g) : of(g.num_values()), escapes(g.num_values(), false) {
    for (ir::NodeId id = 0; id < g.num_nodes(); ++id)
      for (ValueId v : g.node(id).inputs) of[v].push_back(id);
    for (ValueId v : g.outputs()) escapes[v] = true;
    for (const ir::Graph::Update& u : g.updates()) escapes[u.target] = escapes[u.value] = true;
  }
  std::vector<std::vector<ir::NodeId>> of;
  std::vector<bool> escapes;
};

inline bool IsCastTo(const ir::Graph& g, const ir::Node& n, ir::DType to) {
  return n.op == Op::kCast && g.value(n.outputs[0]).type.dtype == to;
}

}  // namespace gptc::passes::rewrite
