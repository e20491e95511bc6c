// The adamw pattern (see fuse.h): the whole of AdamW's update (passes/adamw.cc: the norm
// over every gradient, the clipping, the bias corrections and every parameter's chain) as
// one `adamw` node, which codegen/lower_adamw.cc makes one kernel streaming the parameter,
// gradient and moment blocks. The group is what adamw.cc emitted (values named adamw.*);
// the verifier then proves the body is exactly ir/adamw_update.h's update of the node's
// operands, so a graph that only looks like it is refused here rather than miscompiled.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ir/fused_ops.h"
#include "passes/fusion_group.h"

namespace gptc::passes {

using ir::NodeId;
using ir::Op;
using ir::ValueId;

bool FindAdamW(FusionContext& c) {
  const char* kName = "adamw";
  const ir::Graph& g = c.graph();
  auto named = [&](ValueId v) { return absl::StartsWith(g.value(v).name, "adamw."); };
  // The slots, in the order of the graph's updates (p, m, v per parameter, as adamw.cc adds
  // them); the gradient is grad.<p>.
  std::vector<ValueId> operands, results;  // lr, step, (p, grad, m, v)...; (p, m, v)..., norm
  std::vector<bool> is_result(g.num_values(), false);
  const std::vector<ir::Graph::Update>& ups = g.updates();
  if (ups.empty() || ups.size() % 3 != 0) return false;
  auto lr = g.FindValue("lr"), step = g.FindValue("step"), norm = g.FindValue("adamw.grad_norm");
  if (!lr || !step || !norm) return false;
  operands = {*lr, *step};
  for (size_t i = 0; i < ups.size(); i += 3) {
    const ValueId p = ups[i].target, m = ups[i + 1].target, v = ups[i + 2].target;
    auto grad = g.FindValue("grad." + g.value(p).name);
    if (!grad || g.value(m).name != "m." + g.value(p).name ||
        g.value(v).name != "v." + g.value(p).name) {
      c.Refuse(kName, p, "the state updates are not (p, m.p, v.p) per parameter");
      return false;
    }
    operands.insert(operands.end(), {p, *grad, m, v});
    for (int j = 0; j < 3; ++j) {
      results.push_back(ups[i + j].value);
      is_result[ups[i + j].value] = true;
    }
  }
  results.push_back(*norm);
  is_result[*norm] = true;
  // Members: every node computing an adamw.* value. Nothing else may read their results but
  // the updates and the norm.
  std::vector<NodeId> members;
  for (NodeId n = 0; n < g.num_nodes(); ++n) {
    const ir::Node& node = g.node(n);
    if (ir::HasTrait(node.op, ir::kDecl) || node.outputs.empty() || !named(node.outputs[0]))
      continue;
    if (c.Taken(n)) return false;
    members.push_back(n);
  }
  std::vector<bool> inside(g.num_nodes(), false);
  for (NodeId m : members) inside[m] = true;
  // Constants CSE merged with one outside (AdamW's 1.0 with the loss's seed gradient) are
  // copied into the body, not owned.
  std::vector<bool> is_operand(g.num_values(), false), owned(g.num_nodes(), true);
  for (ValueId v : operands) is_operand[v] = true;
  for (size_t i = 0; i < members.size(); ++i)
    for (ValueId v : g.node(members[i]).inputs) {
      const NodeId p = g.value(v).producer;
      if (inside[p] || is_operand[v]) continue;
      if (g.node(p).op != Op::kConstant) {
        c.Refuse(kName, v, "AdamW's update reads a value that is not one of its operands");
        return false;
      }
      inside[p] = true;
      owned[p] = false;
      members.push_back(p);
    }
  std::sort(members.begin(), members.end());
  for (NodeId m : members)
    for (ValueId v : g.node(m).outputs)
      for (NodeId r : owned[m] ? c.Consumers(v) : std::vector<NodeId>{})
        if (!inside[r] && !is_result[v]) {
          c.Refuse(kName, v, absl::StrCat("read outside AdamW's update by: ", c.Line(r)));
          return false;
        }
  std::vector<bool> own;
  for (NodeId m : members) own.push_back(owned[m]);
  FusionGroup grp{kName, Op::kAdamW, members, own, results, operands};
  // Refused, not miscompiled: the body must be exactly AdamW's update of the operands.
  std::vector<ValueId> ops;
  auto body = BuildFusionBody(g, grp, &ops);
  ir::Node probe{Op::kAdamW, ops, results, {}, body};
  auto attrs = ir::FusedAttrs(Op::kAdamW, *body);
  absl::Status ok = attrs.status();
  if (ok.ok()) {
    probe.attrs = *attrs;
    ok = ir::CheckFusedBody(g, probe);
  }
  if (!ok.ok()) {
    c.Refuse(kName, *norm, std::string(ok.message()));
    return false;
  }
  c.Add(std::move(grp));
  return true;
}

}  // namespace gptc::passes
