#include "passes/data_parallel.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "ir/verifier.h"

namespace gptc::passes {

absl::StatusOr<ir::Graph> AllReduceGradients(const ir::Graph& g) {
  ir::Graph out = g;
  std::vector<ir::ValueId> local;
  std::vector<std::pair<std::string, ir::TensorType>> results;
  for (ir::ValueId v : g.outputs()) {
    const std::string& name = g.value(v).name;
    if (!absl::StartsWith(name, "grad.")) continue;
    if (g.FindValue(name + ".local"))
      return absl::InvalidArgumentError(
          absl::StrCat("all-reduce: %", name, ".local exists already (run the pass once)"));
    local.push_back(v);
    results.emplace_back(name, g.value(v).type);
  }
  if (local.empty())
    return absl::InvalidArgumentError(
        "all-reduce: the graph has no gradient outputs (%grad.<param>); run autodiff first");
  for (ir::ValueId v : local) out.RenameValue(v, g.value(v).name + ".local");
  const ir::NodeId id = out.AddNode(ir::Op::kAllReduce, local, {}, results);
  std::vector<ir::ValueId> outputs;
  size_t k = 0;
  for (ir::ValueId v : g.outputs())
    outputs.push_back(k < local.size() && v == local[k] ? out.node(id).outputs[k++] : v);
  out.set_outputs(outputs);
  RETURN_IF_ERROR(ir::Verify(out));
  return out;
}

}  // namespace gptc::passes
