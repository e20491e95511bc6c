// The generic rule: elementwise ops with broadcasts, and reductions with their elementwise
// producers and consumers (ir/fusion_layout.h says which bodies one kernel computes).
//
// Nodes are visited from the last to the first, so when a node is visited every reader of
// its result has been placed. A node joins its readers' group when all of them are in that
// one group (its result then never needs memory) and its result fits the group: the group's
// size, a scalar, a row of it, or the broadcast that makes an operand group-sized. A
// reduction or expand along the last axis makes the group a rows group (a norm, a softmax
// and their gradients: x * rsqrt(mean(x^2) + eps) * w is one kernel). A node whose readers
// are in several groups joins the first and is written as one of its results, which the
// others read (the forward pass of a norm writes what its backward reads). A broadcast,
// expand or constant read by several groups is recomputed inside each instead (it reads
// at most a row value or a small operand), not written at full size for all of them. Groups
// of one real op are dropped: fusing them would change nothing.
#include <optional>

#include "absl/strings/str_cat.h"
#include "ir/fusion_layout.h"
#include "passes/fusion_group.h"

namespace gptc::passes {

using ir::NodeId;
using ir::Op;
using ir::ValueId;

namespace {

struct Group {
  NodeId root;
  int64_t domain;  // elements of the largest values: the root's, or a reduction root's input
  // The row length once a reduction or expand along the last axis joined (0: none yet), or
  // -1 when the root reduces along another axis: then only full-size producers join.
  int64_t cols;
  std::vector<NodeId> members;  // in visiting order (last node first)
  std::vector<NodeId> copies;   // broadcasts, expands and constants recomputed inside
  std::vector<ValueId> shared;  // members other groups read too: written as results
  bool merged = false;          // a column sum that joined a rows group (MergeColumnSums)
  int64_t rows() const { return cols > 0 ? domain / cols : 0; }
};

int64_t Elems(const ir::Graph& g, ValueId v) {
  return std::max<int64_t>(1, g.value(v).type.num_elements());
}

bool Fusible(const ir::Node& n) {
  return ir::HasTrait(n.op, ir::kElementwise) || n.op == Op::kConstant || n.op == Op::kBroadcast ||
         n.op == Op::kReshape || n.op == Op::kExpand || ir::HasTrait(n.op, ir::kReduction);
}

bool Recomputed(const ir::Node& n) {
  return n.op == Op::kBroadcast || n.op == Op::kConstant || n.op == Op::kExpand;
}

bool Tiles(int64_t operand, int64_t span) { return span % operand == 0 || operand % span == 0; }

// Why broadcast node b (in a group of `domain` elements with rows of `cols`) cannot be
// computed there, or "".
std::string BroadcastProblem(const ir::Graph& g, const ir::Node& b, int64_t domain, int64_t cols) {
  const int64_t in = Elems(g, b.inputs[0]), out = Elems(g, b.outputs[0]);
  if (in == 1) return "";
  if (cols < 0) return "a reduction group reads no broadcast rows";
  if (cols > 0 && !Tiles(in, out == domain ? cols : domain / cols))
    return absl::StrCat("the broadcast's ", in, " elements do not tile the group's rows of ", cols);
  return "";
}

class Former {
 public:
  Former(const FusionContext& c, bool share)
      : c_(c),
        g_(c.graph()),
        share_(share),
        group_of_(g_.num_nodes(), -1),
        copied_into_(g_.num_nodes()) {}

  void Run();
  // Column sums join a rows group over the same rows (ir/fusion_layout.h), so a norm's dx and
  // dw are one kernel.
  void MergeColumnSums();
  std::vector<Group>& groups() { return groups_; }
  std::vector<std::pair<ValueId, std::string>>& refusals() { return refusals_; }
  // Whether the groups, read as nodes, still form a DAG with the rest of the graph.
  bool Acyclic() const;

 private:
  std::string JoinProblem(NodeId n, const Group& grp, bool as_result) const;
  void Admit(NodeId n, Group& grp);
  // A reader of v outside group gi that depends on gi (then gi cannot also compute v), or -1.
  NodeId WouldCycle(ValueId v, int gi) const;
  // Groups that read v through a member or a copy; *outside*: some reader is in none.
  std::vector<int> ReaderGroups(ValueId v, bool* outside) const;

  const FusionContext& c_;
  const ir::Graph& g_;
  const bool share_;
  std::vector<int> group_of_;
  std::vector<std::vector<int>> copied_into_;
  std::vector<bool> copy_survives_ = std::vector<bool>(g_.num_nodes(), false);
  std::vector<Group> groups_;
  std::vector<std::pair<ValueId, std::string>> refusals_;
};

// Why node n cannot join grp (every reader of n is in it, or as_result: n is written as one
// of grp's results for other readers), or "" if it can.
std::string Former::JoinProblem(NodeId n, const Group& grp, bool as_result) const {
  const ir::Node& node = g_.node(n);
  const ValueId v = node.outputs[0];
  const int64_t e = Elems(g_, v);
  const bool full = e == grp.domain, row = grp.cols > 0 && e == grp.rows();
  if (ir::HasTrait(node.op, ir::kReduction) || node.op == Op::kExpand) {
    if (grp.cols < 0) return "the group reduces along another axis";
    const int64_t len = ir::RowLength(g_, node);
    if (len <= 1) return "only reductions and expands along the last axis join a group";
    const ValueId big = node.op == Op::kExpand ? v : node.inputs[0];
    if (Elems(g_, big) != grp.domain)
      return absl::StrCat("its size ", Elems(g_, big), " differs from the group's ", grp.domain);
    if (grp.cols > 0 && len != grp.cols)
      return absl::StrCat("its rows of ", len, " differ from the group's ", grp.cols);
    for (const std::vector<NodeId>* list : {&grp.members, &grp.copies})
      for (NodeId m : *list)
        if (g_.node(m).op == Op::kBroadcast) {
          const std::string why = BroadcastProblem(g_, g_.node(m), grp.domain, len);
          if (!why.empty()) return why;
        }
  } else if (node.op == Op::kBroadcast) {
    if (!full && !row) return "the broadcast is not to the group's size";
    const std::string why = BroadcastProblem(g_, node, grp.domain, grp.cols);
    if (!why.empty()) return why;
  } else if (!full && !row && e != 1) {
    return absl::StrCat("its size ", e, " differs from the group's ", grp.domain);
  }
  // A broadcast inside the group reads its operand from memory.
  for (NodeId r : c_.Consumers(v)) {
    if (g_.node(r).op != Op::kBroadcast || e == 1) continue;
    bool inside = group_of_[r] >= 0 && &groups_[group_of_[r]] == &grp;
    for (int gi : copied_into_[r]) inside |= &groups_[gi] == &grp;
    if (inside) return "a broadcast in the group reads it from memory";
  }
  if (c_.Escapes(v) || as_result) {
    if (!(full && grp.cols >= 0) && !row)
      return grp.cols < 0
                 ? std::string("the group sums along another axis and writes only that sum")
                 : absl::StrCat("%", g_.value(v).name,
                                " is read outside the group, which "
                                "writes only values of its size or one per row");
  }
  return "";
}

// n joins grp (JoinProblem said it may): a reduction or expand fixes the row length.
void Former::Admit(NodeId n, Group& grp) {
  const ir::Node& node = g_.node(n);
  if (ir::HasTrait(node.op, ir::kReduction) || node.op == Op::kExpand)
    grp.cols = ir::RowLength(g_, node);
}

std::vector<int> Former::ReaderGroups(ValueId v, bool* outside) const {
  std::vector<int> out;
  *outside = false;
  auto add = [&](int gi) {
    if (std::find(out.begin(), out.end(), gi) == out.end()) out.push_back(gi);
  };
  for (NodeId r : c_.Consumers(v)) {
    if (group_of_[r] >= 0) {
      add(group_of_[r]);
      continue;
    }
    for (int gi : copied_into_[r]) add(gi);
    if (copied_into_[r].empty() || copy_survives_[r]) *outside = true;
  }
  return out;
}

NodeId Former::WouldCycle(ValueId v, int gi) const {
  NodeId last = 0;
  for (NodeId m : groups_[gi].members) last = std::max(last, m);
  auto in_group = [&](NodeId n, int k) {
    return group_of_[n] == k ||
           std::find(copied_into_[n].begin(), copied_into_[n].end(), k) != copied_into_[n].end();
  };
  std::vector<bool> seen(g_.num_nodes(), false);
  std::vector<NodeId> todo;
  auto push = [&](NodeId n) {
    if (n <= last && !seen[n]) {
      seen[n] = true;
      todo.push_back(n);
    }
  };
  for (NodeId start : c_.Consumers(v)) {
    if (in_group(start, gi)) continue;
    std::fill(seen.begin(), seen.end(), false);
    push(start);
    while (!todo.empty()) {
      const NodeId n = todo.back();
      todo.pop_back();
      if (in_group(n, gi)) return start;
      // Reaching a group's member delays all of its results.
      if (group_of_[n] >= 0)
        for (NodeId m : groups_[group_of_[n]].members) push(m);
      for (ValueId out : g_.node(n).outputs)
        for (NodeId r : c_.Consumers(out)) push(r);
    }
  }
  return -1;
}

void Former::Run() {
  for (NodeId n = g_.num_nodes() - 1; n >= 0; --n) {
    const ir::Node& node = g_.node(n);
    if (ir::HasTrait(node.op, ir::kDecl) || c_.Taken(n) || !Fusible(node)) continue;
    const ValueId v = node.outputs[0];
    bool outside = false;
    const std::vector<int> readers = ReaderGroups(v, &outside);
    if (!outside && readers.size() == 1) {
      Group& grp = groups_[readers[0]];
      const std::string why = JoinProblem(n, grp, false);
      if (why.empty()) {
        Admit(n, grp);
        group_of_[n] = readers[0];
        grp.members.push_back(n);
        continue;
      }
      refusals_.emplace_back(v, why);
    } else if (Recomputed(node) && !readers.empty()) {
      for (int gi : readers) {
        if (!JoinProblem(n, groups_[gi], false).empty()) {
          copy_survives_[n] = true;
          continue;
        }
        Admit(n, groups_[gi]);
        groups_[gi].copies.push_back(n);
        copied_into_[n].push_back(gi);
      }
      if (outside) copy_survives_[n] = true;
      continue;
    } else if (!readers.empty()) {
      // Read by several groups (or also by unfused nodes): computed in the first reader's
      // group and written once, if that group can write it.
      int first = -1;
      for (NodeId r : c_.Consumers(v)) {
        const int gi = group_of_[r] >= 0         ? group_of_[r]
                       : copied_into_[r].empty() ? -1
                                                 : copied_into_[r][0];
        if (gi >= 0) {
          first = gi;
          break;
        }
      }
      std::string why = share_ ? JoinProblem(n, groups_[first], true)
                               : "sharing is off (the groups made a cycle)";
      if (const NodeId r = why.empty() ? WouldCycle(v, first) : -1; r >= 0)
        why = absl::StrCat("read outside the group by: ", c_.Line(r), ", which depends on it");
      if (why.empty()) {
        Admit(n, groups_[first]);
        group_of_[n] = first;
        groups_[first].members.push_back(n);
        groups_[first].shared.push_back(v);
        continue;
      }
      refusals_.emplace_back(v, absl::StrCat("read by several groups; ", why));
    }
    // Start a group: reshapes, broadcasts, expands and constants only ever join one.
    if (node.op == Op::kReshape || Recomputed(node)) continue;
    Group grp{n, Elems(g_, v), 0, {n}, {}, {}};
    if (ir::HasTrait(node.op, ir::kReduction)) {
      grp.domain = Elems(g_, node.inputs[0]);
      const int64_t len = ir::RowLength(g_, node);
      grp.cols = len > 1 ? len : -1;
    }
    group_of_[n] = static_cast<int>(groups_.size());
    groups_.push_back(std::move(grp));
  }
}

void Former::MergeColumnSums() {
  for (size_t ci = 0; ci < groups_.size(); ++ci) {
    if (groups_[ci].cols >= 0 || !ir::IsColumnSum(g_, g_.node(groups_[ci].root))) continue;
    const ValueId sum = g_.node(groups_[ci].root).outputs[0];
    const int64_t cols = g_.value(g_.node(groups_[ci].root).inputs[0]).type.shape[1];
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      Group& rg = groups_[gi];
      if (gi == ci || rg.merged || rg.cols != cols || rg.domain != groups_[ci].domain) continue;
      // Values of rg computed from its row reductions, which the column sum cannot read.
      std::vector<NodeId> members = rg.members;
      std::sort(members.begin(), members.end());
      std::vector<bool> after_rows(g_.num_values(), false);
      for (NodeId m : members) {
        const ir::Node& n = g_.node(m);
        bool a = ir::HasTrait(n.op, ir::kReduction) || n.op == Op::kExpand;
        for (ValueId v : n.inputs) a = a || after_rows[v];
        after_rows[n.outputs[0]] = a;
      }
      bool ok = true;
      for (NodeId m : groups_[ci].members)
        for (ValueId v : g_.node(m).inputs) ok = ok && !after_rows[v];
      for (NodeId r : c_.Consumers(sum)) ok = ok && group_of_[r] != static_cast<int>(gi);
      if (!ok) continue;
      // Merge, and keep it only if the groups still form a DAG.
      const std::vector<int> saved_group_of = group_of_;
      const std::vector<std::vector<int>> saved_copied = copied_into_;
      const Group saved = rg;
      for (NodeId m : groups_[ci].members) group_of_[m] = static_cast<int>(gi);
      for (std::vector<int>& into : copied_into_)
        for (int& k : into)
          if (k == static_cast<int>(ci)) k = static_cast<int>(gi);
      rg.members.insert(rg.members.end(), groups_[ci].members.begin(), groups_[ci].members.end());
      rg.copies.insert(rg.copies.end(), groups_[ci].copies.begin(), groups_[ci].copies.end());
      rg.shared.push_back(sum);
      rg.shared.insert(rg.shared.end(), groups_[ci].shared.begin(), groups_[ci].shared.end());
      if (Acyclic()) {
        groups_[ci].merged = true;
        break;
      }
      group_of_ = saved_group_of;
      copied_into_ = saved_copied;
      rg = saved;
    }
  }
}

bool Former::Acyclic() const {
  // Items: each group (its members), every other node alone; edges along values.
  const int ng = static_cast<int>(groups_.size());
  std::vector<int> item(g_.num_nodes());
  for (NodeId n = 0; n < g_.num_nodes(); ++n) item[n] = group_of_[n] >= 0 ? group_of_[n] : ng + n;
  const int items = ng + g_.num_nodes();
  std::vector<std::vector<int>> users(items);
  std::vector<int> pending(items, 0);
  auto edge = [&](int from, int to) {
    if (from == to) return;
    users[from].push_back(to);
    ++pending[to];
  };
  auto copied_by = [&](NodeId copy, int gi) {
    return std::find(copied_into_[copy].begin(), copied_into_[copy].end(), gi) !=
           copied_into_[copy].end();
  };
  for (NodeId n = 0; n < g_.num_nodes(); ++n) {
    // A copy reads its operands inside each group that recomputes it; the node itself stays
    // only if some reader is outside those groups.
    const bool standalone = group_of_[n] >= 0 || copied_into_[n].empty() || copy_survives_[n];
    for (ValueId v : g_.node(n).inputs) {
      const NodeId p = g_.value(v).producer;
      if (p < 0 || ir::HasTrait(g_.node(p).op, ir::kDecl)) continue;
      for (int gi : copied_into_[n]) edge(item[p], gi);
      if (!standalone) continue;
      if (group_of_[n] >= 0 && !copied_into_[p].empty() && copied_by(p, group_of_[n])) continue;
      edge(item[p], item[n]);
    }
  }
  std::vector<int> ready;
  for (int i = 0; i < items; ++i)
    if (pending[i] == 0) ready.push_back(i);
  int seen = 0;
  while (!ready.empty()) {
    const int i = ready.back();
    ready.pop_back();
    ++seen;
    for (int u : users[i])
      if (--pending[u] == 0) ready.push_back(u);
  }
  return seen == items;
}

}  // namespace

void FindElementwise(FusionContext& c, bool adamw, bool elementwise) {
  const ir::Graph& g = c.graph();
  Former shared(c, true);
  shared.Run();
  std::optional<Former> unshared;  // formed again without sharing only if sharing made a cycle
  Former* f = &shared;
  if (!shared.Acyclic()) {
    unshared.emplace(c, false);
    unshared->Run();
    f = &*unshared;
  }
  f->MergeColumnSums();
  for (const auto& [v, why] : f->refusals()) c.Refuse("elementwise", v, why);

  for (Group& grp : f->groups()) {
    if (grp.merged) continue;
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
    // Results: the root's, every member value that leaves the graph or another group reads;
    // full-size ones first, then row values, then column sums, as a rows kernel writes them
    // (ir/fusion_layout.h).
    fg.results.push_back(g.node(grp.root).outputs[0]);
    for (NodeId m : grp.members) {
      const ValueId v = g.node(m).outputs[0];
      if (m != grp.root &&
          (c.Escapes(v) || std::find(grp.shared.begin(), grp.shared.end(), v) != grp.shared.end()))
        fg.results.push_back(v);
    }
    auto rank = [&](ValueId v) {
      if (Elems(g, v) == grp.domain) return 0;
      return ir::IsColumnSum(g, g.node(g.value(v).producer)) && grp.cols > 0 ? 2 : 1;
    };
    std::stable_sort(fg.results.begin(), fg.results.end(),
                     [&](ValueId a, ValueId b) { return rank(a) < rank(b); });
    c.Add(std::move(fg));
  }
}

}  // namespace gptc::passes
