#include "passes/adamw.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/adamw_update.h"
#include "ir/emitter.h"

namespace gptc::passes {

using ir::Op;
using ir::ValueId;

absl::StatusOr<ir::Graph> AdamW(const ir::Graph& in, const AdamWOptions& o) {
  std::vector<ir::AdamWSlot> slots;
  std::vector<std::string> missing;
  for (ValueId p : AdamWOrder(in)) {
    auto grad = in.FindValue("grad." + in.value(p).name);
    if (!grad) {
      missing.push_back("%" + in.value(p).name);
      continue;
    }
    if (in.value(*grad).type != in.value(p).type)
      return absl::InvalidArgumentError(
          absl::StrCat("adamw: %grad.", in.value(p).name, " does not have its parameter's type"));
    slots.push_back({p, *grad, -1, -1, ir::ParamDecays(in, p)});
  }
  if (!missing.empty())
    return absl::InvalidArgumentError(absl::StrCat("adamw: no gradient (grad.<name>) for ",
                                                   absl::StrJoin(missing, ", "),
                                                   "; run autodiff first"));
  // Other states may have updates already (gradient accumulation zeroes its sums), but a
  // parameter updated twice in one step is a pipeline run twice.
  for (const ir::Graph::Update& u : in.updates())
    if (in.node(in.value(u.target).producer).op == ir::Op::kParam)
      return absl::InvalidArgumentError(absl::StrCat("adamw: parameter %", in.value(u.target).name,
                                                     " already has a state update"));
  if (slots.empty()) return in;  // no parameters: nothing to optimise
  ir::Graph g = in;
  ir::Emitter e(g);
  const ir::TensorType scalar = ir::F32({});
  ValueId lr = e.Decl(Op::kInput, scalar, "lr");
  ValueId step = e.Decl(Op::kInput, scalar, "step");
  // All first moments, then all second moments, each in the parameters' order: the plan lays
  // declarations out in order, so each moment block mirrors the parameter block and one
  // kernel can stream all four (codegen/lower_adamw.cc).
  for (ir::AdamWSlot& sl : slots)
    sl.m = e.Decl(Op::kState, g.value(sl.p).type, "m." + g.value(sl.p).name);
  for (ir::AdamWSlot& sl : slots)
    sl.v = e.Decl(Op::kState, g.value(sl.p).type, "v." + g.value(sl.p).name);
  ir::AdamWHyper h;
  h.beta1 = o.beta1;
  h.beta2 = o.beta2;
  h.eps = o.eps;
  h.weight_decay = o.weight_decay;
  h.clip_norm = o.clip_norm;
  const ir::AdamWResult r = ir::EmitAdamWUpdate(e, lr, step, slots, h);
  for (size_t i = 0; i < slots.size(); ++i) {
    g.AddUpdate(slots[i].p, r.p[i]);
    g.AddUpdate(slots[i].m, r.m[i]);
    g.AddUpdate(slots[i].v, r.v[i]);
  }
  std::vector<ValueId> outputs;
  for (ValueId v : g.outputs())
    if (!absl::StartsWith(g.value(v).name, "grad.")) outputs.push_back(v);
  outputs.push_back(r.grad_norm);
  g.set_outputs(outputs);
  return g;
}

std::vector<ValueId> AdamWOrder(const ir::Graph& g) {
  std::vector<ValueId> order;
  for (bool decayed : {true, false})
    for (ValueId p : g.Params())
      if (ir::ParamDecays(g, p) == decayed) order.push_back(p);
  return order;
}

}  // namespace gptc::passes
