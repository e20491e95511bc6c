#include "frontend/buffer.h"

#include "absl/strings/str_cat.h"
#include "ir/interpreter.h"
#include "ir/status_macros.h"

namespace gptc {

absl::StatusOr<ir::Literal> MakeBuffer(const BufferSpec& b) {
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, ir::Interpret(*b.make, {}, {ir::Precision::kF64}));
  if (out.size() != 1 || out[0].type != b.type)
    return absl::InternalError(
        absl::StrCat("buffer %", b.name, ": its graph does not give ", ir::TypeToString(b.type)));
  for (double& x : out[0].data) x = static_cast<float>(x);  // what every backend stores
  return std::move(out[0]);
}

absl::Status CheckBuffers(const ir::Graph& forward, const std::vector<BufferSpec>& buffers) {
  for (const ir::Node& n : forward.nodes()) {
    if (n.op != ir::Op::kState) continue;
    const ir::Value& v = forward.value(n.outputs[0]);
    bool found = false;
    for (const BufferSpec& b : buffers) found |= b.name == v.name && b.type == v.type;
    if (!found)
      return absl::InvalidArgumentError(
          absl::StrCat("state %", v.name, " of graph ", forward.name(),
                       " is not a buffer of the model (declare it with Builder::Buffer and return "
                       "b.buffers() in the ForwardGraph)"));
  }
  for (const BufferSpec& b : buffers) {
    auto v = forward.FindValue(b.name);
    if (!v || forward.node(forward.value(*v).producer).op != ir::Op::kState)
      return absl::InvalidArgumentError(
          absl::StrCat("buffer %", b.name, " is not a state of graph ", forward.name()));
  }
  return absl::OkStatus();
}

}  // namespace gptc
