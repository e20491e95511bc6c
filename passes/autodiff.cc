#include "passes/autodiff.h"

#include <map>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/emitter.h"
#include "passes/grad_rules.h"
#include "passes/slice_grads.h"

namespace gptc::passes {
namespace {

using ir::ValueId;

absl::StatusOr<std::vector<ValueId>> ResolveWrt(const ir::Graph& g, const AutodiffOptions& o) {
  if (o.wrt.empty()) return g.Params();
  std::vector<ValueId> out;
  for (const std::string& name : o.wrt) {
    auto v = g.FindValue(name);
    if (!v) return absl::InvalidArgumentError(absl::StrCat("autodiff: no value named %", name));
    if (g.value(*v).type.dtype != ir::DType::kF32)
      return absl::InvalidArgumentError(absl::StrCat("autodiff: %", name, " is not f32"));
    out.push_back(*v);
  }
  return out;
}

}  // namespace

absl::StatusOr<ir::Graph> Autodiff(const ir::Graph& fwd, const AutodiffOptions& options) {
  auto loss_id = fwd.FindValue(options.loss);
  if (!loss_id)
    return absl::InvalidArgumentError(
        absl::StrCat("autodiff: no loss value named %", options.loss));
  if (fwd.value(*loss_id).type != ir::F32({}))
    return absl::InvalidArgumentError(absl::StrCat("autodiff: the loss %", options.loss,
                                                   " must be f32[], not ",
                                                   ir::TypeToString(fwd.value(*loss_id).type)));
  absl::StatusOr<std::vector<ValueId>> wrt = ResolveWrt(fwd, options);
  if (!wrt.ok()) return wrt.status();

  // depends[v]: v depends on a value we differentiate with respect to (forward sweep);
  // reaches[v]: the loss depends on v (backward sweep). Gradients flow where both hold.
  std::vector<bool> depends(fwd.num_values(), false), reaches(fwd.num_values(), false);
  for (ValueId v : *wrt) depends[v] = true;
  for (const ir::Node& n : fwd.nodes())
    for (ValueId in : n.inputs)
      if (depends[in] && fwd.value(n.outputs[0]).type.dtype != ir::DType::kI32)  // f32, bf16
        for (ValueId out : n.outputs) depends[out] = true;
  reaches[*loss_id] = true;
  for (ir::NodeId id = fwd.num_nodes() - 1; id >= 0; --id) {
    const ir::Node& n = fwd.node(id);
    bool r = false;
    for (ValueId out : n.outputs) r = r || reaches[out];
    if (r)
      for (ValueId in : n.inputs) reaches[in] = true;
  }
  auto active = [&](ir::NodeId id) {
    const ir::Node& n = fwd.node(id);
    return !n.inputs.empty() && depends[n.outputs[0]] && reaches[n.outputs[0]];
  };

  std::map<std::string, std::vector<std::string>> missing;  // op -> results, sorted for the message
  for (ir::NodeId id = 0; id < fwd.num_nodes(); ++id)
    if (active(id) && fwd.node(id).op != ir::Op::kSlice && FindGradRule(fwd.node(id).op) == nullptr)
      missing[ir::OpName(fwd.node(id).op)].push_back("%" + fwd.value(fwd.node(id).outputs[0]).name);
  if (!missing.empty()) {
    std::vector<std::string> parts;
    for (const auto& [op, vals] : missing)
      parts.push_back(absl::StrCat(op, " (", absl::StrJoin(vals, ", "), ")"));
    return absl::UnimplementedError(
        absl::StrCat("autodiff: no gradient rule for: ", absl::StrJoin(parts, "; ")));
  }

  if (wrt->empty()) return fwd;  // nothing to differentiate: the graph is unchanged
  ir::Graph g = fwd;
  ir::Emitter e(g);
  std::vector<ValueId> grad(fwd.num_values(), -1);
  grad[*loss_id] = e.Constant(1.0, ir::F32({}), "d." + options.loss);
  auto accumulate = [&](ValueId v, ValueId contribution) {
    if (grad[v] < 0) {
      grad[v] = contribution;
    } else {
      grad[v] = e.Emit(ir::Op::kAdd, {grad[v], contribution}, {}, "d." + g.value(v).name);
    }
  };
  // Gradients of slices are held back until every slice of a value is seen, then joined in
  // one concat (zeros only where no slice reads): slicing q, k and v out of one qkv tensor
  // gives concat(dq, dk, dv), not three zero-padded tensors and two adds.
  std::vector<std::vector<SlicePiece>> pieces(fwd.num_values());
  auto materialize = [&](ValueId v) {
    if (pieces[v].empty()) return;
    for (ValueId c : JoinSliceGradients(e, v, pieces[v])) accumulate(v, c);
    pieces[v].clear();
  };
  for (ir::NodeId id = fwd.num_nodes() - 1; id >= 0; --id) {
    if (!active(id)) continue;
    const ir::Node node = fwd.node(id);
    const ValueId y = node.outputs[0];
    materialize(y);
    if (grad[y] < 0) continue;  // reaches the loss only through integer or cut paths
    if (node.op == ir::Op::kSlice) {
      if (depends[node.inputs[0]])
        pieces[node.inputs[0]].push_back({*node.attrs.GetInt("axis"), *node.attrs.GetInt("start"),
                                          *node.attrs.GetInt("end"), grad[y]});
      continue;
    }
    GradContext c{e, node, y, grad[y], {}, std::vector<ValueId>(node.inputs.size(), -1)};
    for (ValueId in : node.inputs) c.needs.push_back(depends[in]);
    FindGradRule(node.op)(c);
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (c.dx[i] >= 0) accumulate(node.inputs[i], c.dx[i]);
  }

  for (ValueId v : *wrt) {
    materialize(v);
    const std::string name = "grad." + g.value(v).name;
    ValueId gv = grad[v];
    if (gv < 0) {
      g.AddOutput(e.Constant(0.0, g.value(v).type, name));
      continue;
    }
    // A gradient value may already carry another name that matters (a graph value passed
    // through, or another parameter's gradient): then give this one its own copy.
    const std::string& current = g.value(gv).name;
    if (gv < fwd.num_values() || absl::StartsWith(current, "grad.")) {
      gv = e.Emit(ir::Op::kScale, {gv}, {{"factor", 1.0}}, name);
    } else {
      e.Rename(gv, name);
    }
    g.AddOutput(gv);
  }
  return g;
}

}  // namespace gptc::passes
