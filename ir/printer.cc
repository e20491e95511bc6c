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
  std::vector<std::string> places;
  for (ValueId v : n.outputs)
    if (v >= 0 && v < g.num_values() && g.value(v).place.kind != Placement::Kind::kNone)
      places.push_back(PlacementText(g, g.value(v).place));
  if (!places.empty()) absl::StrAppend(&p.rhs, "  ", absl::StrJoin(places, " "));
  return p;
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string DeclText(const Graph& g, const Node& n) {
  const Value& v = g.value(n.outputs[0]);
  const bool decay = n.op == Op::kParam && n.attrs.GetBool("decay").value_or(false);
  const char* kind = decay                ? " param decay"
                     : n.op == Op::kParam ? " param"
                     : n.op == Op::kState ? " state"
                                          : "";
  std::string place = PlacementText(g, v.place);
  return absl::StrCat("%", v.name, ": ", TypeToString(v.type), kind, place.empty() ? "" : " ",
                      place);
}

// The non-declaration nodes of g, one per line at `indent`, names and types in columns; a
// fused node's body follows it, indented further, and ends with `yield` and `}`.
void PrintNodes(const Graph& g, const std::string& indent, std::string& out) {
  std::vector<LineParts> lines;
  std::vector<NodeId> ids;
  size_t name_w = 0, type_w = 0;
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    if (HasTrait(g.node(id).op, kDecl)) continue;
    lines.push_back(Parts(g, g.node(id)));
    ids.push_back(id);
    name_w = std::max(name_w, std::min(lines.back().lhs.size(), kMaxNameColumn));
    type_w = std::max(type_w, std::min(lines.back().types.size(), kMaxTypeColumn));
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    const LineParts& p = lines[i];
    const Node& n = g.node(ids[i]);
    absl::StrAppend(&out, indent, Pad(p.lhs, name_w), " = ", Pad(p.types, type_w), " ", p.rhs,
                    n.body ? " {\n" : "\n");
    if (!n.body) continue;
    PrintNodes(*n.body, indent + "    ", out);
    std::vector<std::string> yields;
    for (ValueId v : n.body->outputs()) yields.push_back(ValueRef(*n.body, v));
    absl::StrAppend(&out, indent, "    yield ", absl::StrJoin(yields, ", "), "\n", indent, "}\n");
  }
}

}  // namespace

std::string PlacementText(const Graph& g, const Placement& p) {
  switch (p.kind) {
    case Placement::Kind::kNone:
      return "";
    case Placement::Kind::kMemory:
      return absl::StrCat("@", RegionName(p.region), "[", p.offset, ", ", p.bytes, "]");
    case Placement::Kind::kView:
      if (p.offset == 0 && p.strides.empty())
        return absl::StrCat("@view(", ValueRef(g, p.base), ")");
      return absl::StrCat("@view(", ValueRef(g, p.base), ", ", p.offset, ", [",
                          absl::StrJoin(p.strides, ", "), "])");
    case Placement::Kind::kInPlace:
      return absl::StrCat("@inplace(", ValueRef(g, p.base), ")");
  }
  return "";
}

std::string ValueRef(const Graph& g, ValueId v) {
  if (v < 0 || v >= g.num_values()) return absl::StrCat("%<bad value id ", v, ">");
  return "%" + g.value(v).name;
}

std::string PrintNode(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  if (HasTrait(n.op, kDecl) && n.outputs.size() == 1) return DeclText(g, n);
  LineParts p = Parts(g, n);
  // One line for messages: a fused node's body is summarised by the ops it absorbed.
  std::string body;
  if (n.body) {
    std::vector<std::string> ops;
    for (const Node& b : n.body->nodes())
      if (!HasTrait(b.op, kDecl)) ops.push_back(OpName(b.op));
    body = absl::StrCat(" {", absl::StrJoin(ops, ", "), "}");
  }
  return absl::StrCat(p.lhs, " = ", p.types, " ", p.rhs, body);
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

  PrintNodes(g, "  ", out);
  for (const Graph::Update& u : g.updates())
    absl::StrAppend(&out, "  update ", ValueRef(g, u.target), " <- ", ValueRef(g, u.value), "\n");
  std::vector<std::string> rets;
  for (ValueId v : g.outputs()) rets.push_back(ValueRef(g, v));
  absl::StrAppend(&out, "  return", rets.empty() ? "" : " ", absl::StrJoin(rets, ", "), "\n}\n");
  return out;
}

}  // namespace gptc::ir
