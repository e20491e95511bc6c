#include "passes/grad_accum.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ir/emitter.h"

namespace gptc::passes {

using ir::Op;
using ir::ValueId;

absl::StatusOr<ir::Graph> AccumulateGradients(const ir::Graph& in, GradAccumGraph which,
                                              int micro_batches) {
  if (micro_batches < 2)
    return absl::InvalidArgumentError(
        absl::StrCat("grad-accum: needs at least 2 micro-batches, got ", micro_batches));
  ir::Graph g = in;
  ir::Emitter e(g);
  std::vector<ValueId> outputs;
  int gradients = 0;
  for (ValueId out : in.outputs()) {
    const std::string name = in.value(out).name;
    if (!absl::StartsWith(name, "grad.")) {
      outputs.push_back(out);
      continue;
    }
    ++gradients;
    const std::string param = name.substr(5);
    const ir::TensorType& type = in.value(out).type;
    const ValueId acc = e.Decl(Op::kState, type, kGradAccumPrefix + param);
    if (which == GradAccumGraph::kMicro) {
      g.AddUpdate(acc, e.Emit(Op::kAdd, {acc, out}, {}, kGradAccumPrefix + param + ".new"));
      continue;
    }
    // The last micro-batch: its gradient joins the sum, the mean takes the gradient's name
    // (AdamW and the all-reduce find gradients by name), and the sum starts again at zero.
    g.RenameValue(out, e.Unique(name + ".micro"));
    const ValueId sum = e.Emit(Op::kAdd, {acc, out}, {}, kGradAccumPrefix + param + ".sum");
    const ValueId mean =
        e.Emit(Op::kScale, {sum}, {{"factor", 1.0 / static_cast<double>(micro_batches)}},
               kGradAccumPrefix + param + ".mean");
    g.RenameValue(mean, name);
    outputs.push_back(mean);
    g.AddUpdate(acc, e.Constant(0.0, type, kGradAccumPrefix + param + ".zero"));
  }
  if (gradients == 0)
    return absl::InvalidArgumentError("grad-accum: the graph returns no gradients (grad.<p>)");
  g.set_outputs(outputs);
  return g;
}

}  // namespace gptc::passes
