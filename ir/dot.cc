#include "ir/dot.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace gptc::ir {
namespace {

std::string Escape(const std::string& s) {
  return absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}});
}

}  // namespace

std::string ToDot(const Graph& g) {
  std::string out = absl::StrCat("digraph \"", Escape(g.name()), "\" {\n",
                                 "  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n");
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    std::string label;
    for (ValueId v : n.outputs)
      absl::StrAppend(&label, "%", g.value(v).name, "\\n", TypeToString(g.value(v).type), "\\n");
    absl::StrAppend(&label, OpName(n.op));
    if (n.body) {  // a fused node lists the ops it absorbed
      absl::StrAppend(&label, " {");
      for (const Node& b : n.body->nodes())
        if (!HasTrait(b.op, kDecl)) absl::StrAppend(&label, "\\n  ", OpName(b.op));
      absl::StrAppend(&label, "\\n}");
    }
    if (!n.attrs.empty()) absl::StrAppend(&label, "\\n", Escape(AttrsToString(n.attrs)));
    const char* style = n.op == Op::kParam   ? "shape=ellipse, style=filled, fillcolor=lightgrey"
                        : n.op == Op::kInput ? "shape=ellipse"
                        : n.body             ? "shape=box, style=filled, fillcolor=lightblue"
                                             : "shape=box";
    absl::StrAppend(&out, "  n", id, " [label=\"", label, "\", ", style, "];\n");
  }
  for (NodeId id = 0; id < g.num_nodes(); ++id)
    for (ValueId v : g.node(id).inputs)
      if (v >= 0 && v < g.num_values())
        absl::StrAppend(&out, "  n", g.value(v).producer, " -> n", id, ";\n");
  for (ValueId v : g.outputs())
    if (v >= 0 && v < g.num_values())
      absl::StrAppend(&out, "  n", g.value(v).producer, " [penwidth=2];\n");
  out += "}\n";
  return out;
}

}  // namespace gptc::ir
