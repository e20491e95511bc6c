#include "codegen/kernel_spec.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/literal.h"

namespace gptc::codegen {

namespace {

// A value's element strides when the plan made it a non-row-major view, else empty.
std::vector<int64_t> StridesOf(const ir::Graph& g, ir::ValueId v) {
  const ir::Placement& p = g.value(v).place;
  if (p.kind != ir::Placement::Kind::kView || p.strides.empty()) return {};
  if (p.strides == ir::Strides(g.value(v).type.shape)) return {};
  return p.strides;
}

// Whether adamw's four operand kinds (p, grad, m, v) each fill one region contiguously in
// operand order, each new p, m, v is in place over its operand, and the decayed parameters
// come first (the blocked kernel decays a prefix of each block).
bool AdamWBlocked(const ir::Graph& g, const ir::Node& n) {
  const size_t k = (n.inputs.size() - 2) / 4;
  const std::vector<int64_t> decay = n.attrs.GetInts("decay").value_or(std::vector<int64_t>());
  if (!std::is_sorted(decay.begin(), decay.end(), std::greater<int64_t>())) return false;
  for (size_t kind = 0; kind < 4; ++kind) {
    int64_t next = -1;
    for (size_t i = 0; i < k; ++i) {
      const ir::ValueId v = n.inputs[2 + 4 * i + kind];
      const ir::Placement& p = g.value(v).place;
      const int64_t bytes = 4 * g.value(v).type.num_elements();
      if (p.kind != ir::Placement::Kind::kMemory || p.bytes != bytes ||
          (next >= 0 && p.offset != next))
        return false;
      next = p.offset + bytes;
      if (kind == 1) continue;  // the gradient has no result
      const ir::ValueId out = n.outputs[3 * i + (kind == 0 ? 0 : kind - 1)];
      const ir::Placement& o = g.value(out).place;
      if (o.kind != ir::Placement::Kind::kInPlace || o.base != v) return false;
    }
  }
  return true;
}

}  // namespace

KernelSpec KernelSpec::FromNode(const ir::Graph& g, const ir::Node& n) {
  KernelSpec s{n.op, n.attrs, {}, {}, n.body, {}, {}, false};
  bool strided = false;
  for (ir::ValueId v : n.inputs) {
    s.inputs.push_back(g.value(v).type);
    s.input_strides.push_back(StridesOf(g, v));
    strided |= !s.input_strides.back().empty();
  }
  for (ir::ValueId v : n.outputs) {
    s.outputs.push_back(g.value(v).type);
    s.output_strides.push_back(StridesOf(g, v));
    strided |= !s.output_strides.back().empty();
  }
  if (!strided) s.input_strides.clear(), s.output_strides.clear();
  if (n.op == ir::Op::kAdamW) s.adamw_blocked = AdamWBlocked(g, n);
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
  auto strides = [](const std::vector<std::vector<int64_t>>& ss) {
    std::vector<std::string> out;
    for (const auto& s : ss) out.push_back(absl::StrCat("[", absl::StrJoin(s, ","), "]"));
    return absl::StrJoin(out, " ");
  };
  if (adamw_blocked) absl::StrAppend(&d, " blocked");
  if (!input_strides.empty() || !output_strides.empty())
    absl::StrAppend(&d, " strides in ", strides(input_strides), " out ", strides(output_strides));
  if (body) {
    absl::StrAppend(&d, " {");
    for (const ir::Node& n : body->nodes()) {
      if (ir::HasTrait(n.op, ir::kDecl)) continue;
      std::vector<std::string> ins, outs;
      for (ir::ValueId v : n.inputs) ins.push_back(absl::StrCat("#", v));
      for (ir::ValueId v : n.outputs)
        outs.push_back(absl::StrCat("#", v, ":", ir::TypeToString(body->value(v).type)));
      absl::StrAppend(&d, absl::StrJoin(outs, ","), "=", ir::OpName(n.op), "(",
                      absl::StrJoin(ins, ","), ")");
      if (!n.attrs.empty()) absl::StrAppend(&d, " ", ir::AttrsToString(n.attrs));
      absl::StrAppend(&d, "; ");
    }
    std::vector<std::string> ys;
    for (ir::ValueId v : body->outputs()) ys.push_back(absl::StrCat("#", v));
    absl::StrAppend(&d, "yield ", absl::StrJoin(ys, ","), "}");
  }
  return d;
}

}  // namespace gptc::codegen
