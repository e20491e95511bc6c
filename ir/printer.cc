#include "ir/printer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gptc::ir {
namespace {

// Column widths are capped so one long name does not push every line far to the right.
constexpr size_t kMaxNameColumn = 24;
constexpr size_t kMaxTypeColumn = 18;

struct LineParts {
  std::string lhs;    // "%a" or "%a, %b"
  std::string types;  // "f32[2,3]" or "f32[2], f32[3]"
  std::string rhs;    // "op(%x, %y)  attr=1"
};

LineParts Parts(const Graph& g, const Node& n) {
  LineParts p;
  std::vector<std::string> names, types, args;
  for (ValueId v : n.outputs) {
    names.push_back(ValueRef(g, v));
    types.push_back(v >= 0 && v < g.num_values() ? TypeToString(g.value(v).type) : "?");
  }
  for (ValueId v : n.inputs) args.push_back(ValueRef(g, v));
  p.lhs = absl::StrJoin(names, ", ");
  p.types = absl::StrJoin(types, ", ");
  p.rhs = absl::StrCat(OpName(n.op), "(", absl::StrJoin(args, ", "), ")");
  if (!n.attrs.empty()) absl::StrAppend(&p.rhs, "  ", AttrsToString(n.attrs));
  return p;
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string DeclText(const Graph& g, const Node& n) {
  const Value& v = g.value(n.outputs[0]);
  const char* kind = n.op == Op::kParam ? " param" : n.op == Op::kState ? " state" : "";
  return absl::StrCat("%", v.name, ": ", TypeToString(v.type), kind);
}

}  // namespace

std::string ValueRef(const Graph& g, ValueId v) {
  if (v < 0 || v >= g.num_values()) return absl::StrCat("%<bad value id ", v, ">");
  return "%" + g.value(v).name;
}

std::string PrintNode(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  if (HasTrait(n.op, kDecl) && n.outputs.size() == 1) return DeclText(g, n);
  LineParts p = Parts(g, n);
  return absl::StrCat(p.lhs, " = ", p.types, " ", p.rhs);
}

std::string PrintGraph(const Graph& g) {
  std::string out = absl::StrCat("graph ", g.name(), "(");
  bool any_decl = false;
  for (const Node& n : g.nodes()) {
    if (!HasTrait(n.op, kDecl)) continue;
    absl::StrAppend(&out, "\n    ", DeclText(g, n), ",");
    any_decl = true;
  }
  absl::StrAppend(&out, any_decl ? "\n) {\n" : ") {\n");

  std::vector<LineParts> lines;
  size_t name_w = 0, type_w = 0;
  for (const Node& n : g.nodes()) {
    if (HasTrait(n.op, kDecl)) continue;
    lines.push_back(Parts(g, n));
    name_w = std::max(name_w, std::min(lines.back().lhs.size(), kMaxNameColumn));
    type_w = std::max(type_w, std::min(lines.back().types.size(), kMaxTypeColumn));
  }
  for (const LineParts& p : lines) {
    absl::StrAppend(&out, "  ", Pad(p.lhs, name_w), " = ", Pad(p.types, type_w), " ", p.rhs,
                    "\n");
  }
  for (const Graph::Update& u : g.updates())
    absl::StrAppend(&out, "  update ", ValueRef(g, u.target), " <- ", ValueRef(g, u.value), "\n");
  std::vector<std::string> rets;
  for (ValueId v : g.outputs()) rets.push_back(ValueRef(g, v));
  absl::StrAppend(&out, "  return", rets.empty() ? "" : " ", absl::StrJoin(rets, ", "), "\n}\n");
  return out;
}

}  // namespace gptc::ir
