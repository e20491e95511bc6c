#include "ir/verifier.h"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/fused_ops.h"
#include "ir/plan_check.h"
#include "ir/printer.h"
#include "ir/shape_inference.h"
#include "ir/status_macros.h"

namespace gptc::ir {
namespace {

absl::Status At(const Graph& g, NodeId n, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat(msg, " in: ", PrintNode(g, n)));
}

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return true;
}

absl::Status CheckNode(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  const OpInfo& info = GetOpInfo(n.op);
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (n.inputs[i] < 0 || n.inputs[i] >= g.num_values())
      return At(g, id, absl::StrCat(info.name, ": operand ", i, " refers to no value"));
  // A kStoresBF16 op may have more: bf16 copies of its results (CheckFusedBody checks them).
  const int results = static_cast<int>(n.outputs.size());
  const bool copies = HasTrait(n.op, kStoresBF16) && results > info.num_outputs;
  if (info.num_outputs >= 0 ? results != info.num_outputs && !copies : n.outputs.empty())
    return At(
        g, id,
        absl::StrCat(info.name, ": has ", n.outputs.size(), " results, expected ",
                     info.num_outputs >= 0 ? absl::StrCat(info.num_outputs) : "at least one"));
  for (ValueId v : n.outputs) {
    if (v < 0 || v >= g.num_values() || g.value(v).producer != id)
      return At(g, id, absl::StrCat(info.name, ": result list is inconsistent"));
    if (!ValidName(g.value(v).name))
      return At(g, id,
                absl::StrCat("invalid value name '", g.value(v).name,
                             "' (use letters, digits, '_' and '.')"));
  }
  if (info.arity >= 0 && static_cast<int>(n.inputs.size()) != info.arity)
    return At(
        g, id,
        absl::StrCat(info.name, ": expects ", info.arity, " operands, got ", n.inputs.size()));
  if (info.arity < 0 && n.inputs.empty())
    return At(g, id, absl::StrCat(info.name, ": expects at least one operand"));
  if (HasTrait(n.op, kDecl)) return absl::OkStatus();
  if (n.body && !HasTrait(n.op, kFused))
    return At(g, id, absl::StrCat(info.name, ": only fused ops have a body"));
  if (HasTrait(n.op, kFused)) {
    if (n.body) {
      if (absl::Status s = Verify(*n.body); !s.ok())
        return At(g, id, absl::StrCat(info.name, ": in its body: ", s.message()));
    }
    if (absl::Status s = CheckFusedBody(g, n); !s.ok()) return At(g, id, std::string(s.message()));
    return absl::OkStatus();
  }
  if (FamilyOf(n.op) == Family::kFill) {  // their type is written, not inferred
    const TensorType& t = g.value(n.outputs[0]).type;
    switch (As<FillOp>(n.op)) {
      case FillOp::kConstant:
        if (auto v = n.attrs.GetFloat("value"); !v.ok())
          return At(g, id, absl::StrCat("constant: ", v.status().message()));
        break;
      case FillOp::kIota: {
        auto axis = n.attrs.GetInt("axis");
        if (!axis.ok()) return At(g, id, absl::StrCat("iota: ", axis.status().message()));
        if (*axis < 0 || *axis >= t.rank())
          return At(g, id,
                    absl::StrCat("iota: axis ", *axis, " is out of range for ", TypeToString(t)));
        if (t.dtype == DType::kBF16) return At(g, id, "iota: gives f32 or i32, not bf16");
        break;
      }
    }
    return absl::OkStatus();
  }
  std::vector<TensorType> in;
  for (ValueId v : n.inputs) in.push_back(g.value(v).type);
  auto inferred = InferTypes(n.op, in, n.attrs);
  if (!inferred.ok()) return At(g, id, std::string(inferred.status().message()));
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    const TensorType& have = g.value(n.outputs[i]).type;
    if (have != (*inferred)[i])
      return At(
          g, id,
          absl::StrCat(info.name, ": result %", g.value(n.outputs[i]).name, " is declared ",
                       TypeToString(have), " but the op gives ", TypeToString((*inferred)[i])));
  }
  return absl::OkStatus();
}

using BGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

// Records the first back edge of a depth-first search, which closes a cycle, and the DFS tree
// (parents) to walk that cycle back for the message.
struct CycleFinder : boost::default_dfs_visitor {
  std::optional<std::pair<int, int>>* back;
  std::vector<int>* parent;
  void tree_edge(BGraph::edge_descriptor e, const BGraph& bg) {
    (*parent)[boost::target(e, bg)] = static_cast<int>(boost::source(e, bg));
  }
  void back_edge(BGraph::edge_descriptor e, const BGraph& bg) {
    if (!*back)
      *back = {static_cast<int>(boost::source(e, bg)), static_cast<int>(boost::target(e, bg))};
  }
};

absl::Status CheckAcyclic(const Graph& g) {
  BGraph bg(g.num_nodes());
  for (NodeId id = 0; id < g.num_nodes(); ++id)
    for (ValueId v : g.node(id).inputs) boost::add_edge(g.value(v).producer, id, bg);
  std::optional<std::pair<int, int>> back;
  std::vector<int> parent(g.num_nodes(), -1);
  CycleFinder finder;
  finder.back = &back;
  finder.parent = &parent;
  boost::depth_first_search(bg, boost::visitor(finder));
  if (!back) return absl::OkStatus();
  // back = (u -> v) with v an ancestor of u: the cycle is v -> ... -> u -> v.
  std::vector<std::string> path;
  for (int n = back->first; n != -1 && n != back->second; n = parent[n])
    path.insert(path.begin(), ValueRef(g, g.node(n).outputs[0]));
  path.insert(path.begin(), ValueRef(g, g.node(back->second).outputs[0]));
  path.push_back(ValueRef(g, g.node(back->second).outputs[0]));
  return At(g, back->second, absl::StrCat("cycle: ", absl::StrJoin(path, " -> ")));
}

absl::Status CheckUpdates(const Graph& g) {
  absl::flat_hash_map<ValueId, int> seen;
  for (const Graph::Update& u : g.updates()) {
    const std::string line =
        absl::StrCat("update ", ValueRef(g, u.target), " <- ", ValueRef(g, u.value));
    auto bad = [&](const std::string& msg) {
      return absl::InvalidArgumentError(absl::StrCat(msg, " in: ", line));
    };
    if (u.target < 0 || u.target >= g.num_values() || u.value < 0 || u.value >= g.num_values())
      return bad("update refers to no value");
    const Op kind = g.node(g.value(u.target).producer).op;
    if (kind != Op::kParam && kind != Op::kState)
      return bad(absl::StrCat("only a param or state can be updated, not ", OpName(kind), " %",
                              g.value(u.target).name));
    if (g.value(u.target).type != g.value(u.value).type)
      return bad(absl::StrCat("type ", TypeToString(g.value(u.value).type), " differs from ",
                              TypeToString(g.value(u.target).type)));
    if (!seen.emplace(u.target, 1).second)
      return bad(absl::StrCat("%", g.value(u.target).name, " is updated twice"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Verify(const Graph& g, NodeId* where) {
  NodeId unused;
  NodeId& at = where ? *where : unused;
  at = -1;
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    at = id;
    RETURN_IF_ERROR(CheckNode(g, id));
  }
  absl::flat_hash_map<std::string, ValueId> seen;
  for (NodeId id = 0; id < g.num_nodes(); ++id)
    for (ValueId v : g.node(id).outputs)
      if (!seen.emplace(g.value(v).name, v).second) {
        at = id;
        return At(g, id, absl::StrCat("duplicate name %", g.value(v).name));
      }
  at = -1;
  RETURN_IF_ERROR(CheckAcyclic(g));
  for (NodeId id = 0; id < g.num_nodes(); ++id)
    for (ValueId v : g.node(id).inputs)
      if (g.value(v).producer >= id) {
        at = id;
        return At(g, id, absl::StrCat("use of %", g.value(v).name, " before its definition"));
      }
  at = -1;
  for (ValueId v : g.outputs())
    if (v < 0 || v >= g.num_values())
      return absl::InvalidArgumentError(absl::StrCat("return refers to no value (id ", v, ")"));
  RETURN_IF_ERROR(CheckUpdates(g));
  return CheckPlan(g);
}

}  // namespace gptc::ir
