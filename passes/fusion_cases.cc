#include "passes/fusion_cases.h"

#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "ir/check.h"
#include "ir/fusion_layout.h"
#include "ir/verifier.h"

namespace gptc::passes {
namespace {

// Operand and result bytes of every kernel of g (declarations and reshapes are not kernels).
int64_t KernelBytes(const ir::Graph& g) {
  int64_t total = 0;
  for (const ir::Node& n : g.nodes()) {
    if (ir::HasTrait(n.op, ir::kDecl) || n.op == ir::Op::kReshape) continue;
    for (ir::ValueId v : n.inputs) total += g.value(v).type.bytes();
    for (ir::ValueId v : n.outputs) total += g.value(v).type.bytes();
  }
  return total;
}

// The fused node alone, its operands as inputs named as in its body.
ir::Graph FusedGraph(const ir::Graph& g, const ir::Node& n) {
  ir::Graph out(absl::StrCat("fused_", ir::OpName(n.op)));
  std::vector<ir::ValueId> ins;
  for (ir::ValueId v : n.inputs) ins.push_back(out.AddInput(g.value(v).name, g.value(v).type));
  std::vector<std::pair<std::string, ir::TensorType>> outs;
  for (ir::ValueId v : n.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
  const ir::NodeId id = out.AddNode(n.op, ins, n.attrs, outs);
  out.SetBody(id, n.body);
  for (ir::ValueId v : out.node(id).outputs) out.AddOutput(v);
  return out;
}

}  // namespace

std::vector<FusionCase> FusionCases(const ir::Graph& g, bool every) {
  std::map<std::string, FusionCase> cases;
  std::vector<std::string> order;
  for (const ir::Node& n : g.nodes()) {
    if (!n.body) continue;
    std::string name = ir::OpName(n.op);
    if (n.op == ir::Op::kFusion) {
      absl::StrAppend(&name, ".", *n.attrs.GetString("pattern"));
      auto layout = ir::LayOutFusion(*n.body);
      if (layout.ok() && layout->kind == ir::FusionLayout::Kind::kRows) name += ".rows";
      if (layout.ok() && layout->kind == ir::FusionLayout::Kind::kReduction) name += ".reduction";
    }
    FusionCase c{name, absl::StrCat("%", g.value(n.outputs[0]).name), *n.body, FusedGraph(g, n)};
    c.unfused.set_name(absl::StrCat("unfused_", name));
    c.fused_bytes = KernelBytes(c.fused);
    c.unfused_bytes = KernelBytes(c.unfused);
    GPTC_CHECK(ir::Verify(c.fused).ok() && ir::Verify(c.unfused).ok()) << "fusion case " << name;
    // For generic fusions keep the one that moves the most data (the largest AdamW chain),
    // for named ops the first (every layer has the same shapes).
    if (every) name = absl::StrCat(name, " ", c.where);
    auto it = cases.find(name);
    if (it == cases.end()) {
      order.push_back(name);
      cases.emplace(name, std::move(c));
    } else if (n.op == ir::Op::kFusion && c.fused_bytes > it->second.fused_bytes) {
      it->second = std::move(c);
    }
  }
  std::vector<FusionCase> out;
  for (const std::string& name : order) out.push_back(std::move(cases.at(name)));
  return out;
}

}  // namespace gptc::passes
