// Verify(): the checks every pass result and every parsed graph must pass.
//  - operands and results refer to existing values; each op has its arity and output count;
//  - every recorded type equals what the op's shape rule gives (shape_inference.h);
//  - names are non-empty, of the characters [A-Za-z0-9_.], and unique;
//  - the graph is acyclic, and every operand is defined on an earlier line.
// The first problem found is returned, quoting the offending node's text line.
#pragma once

#include "absl/status/status.h"
#include "ir/graph.h"

namespace gptc::ir {

// `where`, if given, receives the offending node (or -1 when the problem is not one node's).
absl::Status Verify(const Graph& g, NodeId* where = nullptr);

}  // namespace gptc::ir
