#include "codegen/kernel_spec.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gptc::codegen {

KernelSpec KernelSpec::FromNode(const ir::Graph& g, const ir::Node& n) {
  KernelSpec s{n.op, n.attrs, {}, {}};
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
  return d;
}

bool IsAlias(ir::Op op) { return op == ir::Op::kReshape; }

}  // namespace gptc::codegen
