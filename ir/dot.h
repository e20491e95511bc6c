// Graphviz DOT export of a graph: one box per node (name, op, type), one edge per operand.
// Declarations are ellipses (parameters shaded). Render with `dot -Tsvg g.dot -o g.svg`.
#pragma once

#include <string>

#include "ir/graph.h"

namespace gptc::ir {

std::string ToDot(const Graph& g);

}  // namespace gptc::ir
