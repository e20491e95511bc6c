// The generic rule: chains of elementwise ops, and elementwise ops feeding one reduction.
//
// Nodes are visited from the last to the first, so when a node is visited every reader of
// its result has been placed. A node joins its readers' group when all of them are in that
// one group (its result then never needs memory), its result has the group's size (or is a
// scalar, or it is the broadcast that makes an operand group-sized), and, if its result also
// leaves the graph, the group can write it as an extra result (elementwise groups only).
// Otherwise it may start a group of its own. A broadcast or constant read by several groups
// is recomputed inside each (it reads at most a small operand), instead of being written to
// memory at full size for all of them. Groups of one real op are dropped: fusing them would
// change nothing.
#include "absl/strings/str_cat.h"
#include "passes/fusion_group.h"

namespace gptc::passes {

using ir::NodeId;
using ir::Op;
using ir::ValueId;

namespace {

struct Group {
  NodeId root;
  int64_t domain;  // elements of the root's result, or of a reduction root's input
  bool reduction;
  std::vector<NodeId> members;  // in visiting order (last node first)
  std::vector<NodeId> copies;   // broadcasts and constants recomputed inside (not owned)
};

int64_t Elems(const ir::Graph& g, ValueId v) {
  return std::max<int64_t>(1, g.value(v).type.num_elements());
}

bool Fusible(const ir::Node& n) {
  return ir::HasTrait(n.op, ir::kElementwise) || n.op == Op::kConstant || n.op == Op::kBroadcast ||
         n.op == Op::kReshape || n.op == Op::kSum || n.op == Op::kMean || n.op == Op::kMax;
}

// Why node n (all of whose readers are in `grp`) cannot join it, or "" if it can.
std::string JoinProblem(const FusionContext& c, NodeId n, const Group& grp) {
  const ir::Graph& g = c.graph();
  const ir::Node& node = g.node(n);
  const ValueId v = node.outputs[0];
  const int64_t e = Elems(g, v);
  if (ir::HasTrait(node.op, ir::kReduction)) return "a reduction can only end a group";
  if (node.op == Op::kBroadcast) {
    const int64_t in = Elems(g, node.inputs[0]);
    if (e != grp.domain) return "the broadcast is not to the group's size";
    if (grp.reduction && in != 1) return "a reduction group reads no broadcast rows";
  } else if (node.op == Op::kReshape) {
    if (e != grp.domain) return "the reshape is not of the group's size";
  } else if (e != grp.domain && e != 1) {
    return absl::StrCat("its size ", e, " differs from the group's ", grp.domain);
  }
  if (c.Escapes(v) && (grp.reduction || e != grp.domain))
    return absl::StrCat("%", g.value(v).name,
                        " leaves the graph and the group cannot also write it");
  return "";
}

}  // namespace

void FindElementwise(FusionContext& c, bool adamw, bool elementwise) {
  const ir::Graph& g = c.graph();
  std::vector<int> group_of(g.num_nodes(), -1);
  std::vector<Group> groups;
  for (NodeId n = g.num_nodes() - 1; n >= 0; --n) {
    const ir::Node& node = g.node(n);
    if (ir::HasTrait(node.op, ir::kDecl) || c.Taken(n) || !Fusible(node)) continue;
    const ValueId v = node.outputs[0];
    int target = -1;
    bool all_in_one = !c.Consumers(v).empty();
    for (NodeId r : c.Consumers(v)) {
      if (target < 0) target = group_of[r];
      if (group_of[r] < 0 || group_of[r] != target) all_in_one = false;
    }
    if (all_in_one) {
      const std::string why = JoinProblem(c, n, groups[target]);
      if (why.empty()) {
        group_of[n] = target;
        groups[target].members.push_back(n);
        continue;
      }
      c.Refuse("elementwise", v, why);
    } else if (node.op == Op::kBroadcast || node.op == Op::kConstant) {
      std::vector<int> copied;
      for (NodeId r : c.Consumers(v)) {
        const int gi = group_of[r];
        if (gi < 0 || std::find(copied.begin(), copied.end(), gi) != copied.end()) continue;
        if (!JoinProblem(c, n, groups[gi]).empty()) continue;
        groups[gi].copies.push_back(n);
        copied.push_back(gi);
      }
      continue;
    } else if (target >= 0) {
      for (NodeId r : c.Consumers(v))
        if (group_of[r] != target) {
          c.Refuse("elementwise", v,
                   absl::StrCat("read outside its readers' group by: ", c.Line(r)));
          break;
        }
    }
    // Start a group: reshapes, broadcasts and constants only ever join one.
    if (node.op == Op::kReshape || node.op == Op::kBroadcast || node.op == Op::kConstant) continue;
    const bool red = ir::HasTrait(node.op, ir::kReduction);
    group_of[n] = static_cast<int>(groups.size());
    groups.push_back({n, red ? Elems(g, node.inputs[0]) : Elems(g, v), red, {n}, {}});
  }

  for (Group& grp : groups) {
    // Copies count: a broadcast recomputed inside saves writing and reading it at full size.
    int real = static_cast<int>(grp.copies.size());
    bool updates_state = false;
    for (NodeId m : grp.members) {
      if (g.node(m).op != Op::kReshape) ++real;
      for (const ir::Graph::Update& u : g.updates())
        if (u.value == g.node(m).outputs[0]) updates_state = true;
    }
    if (real < 2) continue;
    const std::string label = updates_state ? "adamw" : "elementwise";
    if (!(updates_state ? adamw : elementwise)) {
      c.Refuse(label, g.node(grp.root).outputs[0], absl::StrCat("pattern ", label, " is off"));
      continue;
    }
    std::vector<NodeId> all = grp.members;
    all.insert(all.end(), grp.copies.begin(), grp.copies.end());
    std::sort(all.begin(), all.end());
    std::vector<bool> owned;
    for (NodeId m : all)
      owned.push_back(std::find(grp.copies.begin(), grp.copies.end(), m) == grp.copies.end());
    FusionGroup fg{label, Op::kFusion, all, owned, {}, {}};
    // Results: the root's, then (elementwise groups) every member value that leaves the graph.
    fg.results.push_back(g.node(grp.root).outputs[0]);
    for (NodeId m : grp.members)
      if (m != grp.root && c.Escapes(g.node(m).outputs[0]))
        fg.results.push_back(g.node(m).outputs[0]);
    c.Add(std::move(fg));
  }
}

}  // namespace gptc::passes
