// Rebuild: the common last step of passes that delete or merge nodes. Copies the nodes marked
// `keep`, in order, into a fresh graph with dense ids; every use of a value v is redirected to
// replace[v] first (replace[v] == v for values that stay). Outputs and updates follow.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace gptc::passes {

// `order`, when given, lists the nodes to copy in their new order (every use after its
// definition); `keep` is then ignored.
ir::Graph Rebuild(const ir::Graph& g, const std::vector<bool>& keep,
                  const std::vector<ir::ValueId>& replace,
                  const std::vector<ir::NodeId>* order = nullptr);

// replace[v] == v for every value.
std::vector<ir::ValueId> IdentityReplacement(const ir::Graph& g);

}  // namespace gptc::passes
