#include "codegen/kernel_spec.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gptc::codegen {

KernelSpec KernelSpec::FromNode(const ir::Graph& g, const ir::Node& n) {
  KernelSpec s{n.op, n.attrs, {}, {}, n.body};
  for (ir::ValueId v : n.inputs) s.inputs.push_back(g.value(v).type);
  for (ir::ValueId v : n.outputs) s.outputs.push_back(g.value(v).type);
  return s;
}

std::string KernelSpec::Describe() const {
  auto types = [](const std::vector<ir::TensorType>& ts) {
    std::vector<std::string> out;
    for (const ir::TensorType& t : ts) out.push_back(ir::TypeToString(t));
    return absl::StrJoin(out, ", ");
  };
  std::string d = absl::StrCat(ir::OpName(op), "(", types(inputs), ") -> ", types(outputs));
  if (!attrs.empty()) absl::StrAppend(&d, " ", ir::AttrsToString(attrs));
  if (body) {
    absl::StrAppend(&d, " {");
    for (const ir::Node& n : body->nodes()) {
      if (ir::HasTrait(n.op, ir::kDecl)) continue;
      std::vector<std::string> ins, outs;
      for (ir::ValueId v : n.inputs) ins.push_back(absl::StrCat("#", v));
      for (ir::ValueId v : n.outputs) outs.push_back(absl::StrCat("#", v, ":", ir::TypeToString(body->value(v).type)));
      absl::StrAppend(&d, absl::StrJoin(outs, ","), "=", ir::OpName(n.op), "(", absl::StrJoin(ins, ","), ")");
      if (!n.attrs.empty()) absl::StrAppend(&d, " ", ir::AttrsToString(n.attrs));
      absl::StrAppend(&d, "; ");
    }
    std::vector<std::string> ys;
    for (ir::ValueId v : body->outputs()) ys.push_back(absl::StrCat("#", v));
    absl::StrAppend(&d, "yield ", absl::StrJoin(ys, ","), "}");
  }
  return d;
}

bool IsAlias(ir::Op op) { return op == ir::Op::kReshape; }

}  // namespace gptc::codegen
