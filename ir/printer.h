// The text form of the IR (see DESIGN.md). Declarations go in the signature, one per line;
// every other node is one line: `%name = TYPE op(%a, %b)  attr=value ...`.
// parse(print(g)) prints identically for every graph (tests/ir_roundtrip_test.cc).
#pragma once

#include <string>

#include "ir/graph.h"

namespace gptc::ir {

std::string PrintGraph(const Graph& g);

// One node as a single line without padding, for error messages:
// `%h.0.qkv = f32[4,32,96] matmul(%h.0.ln1, %h.0.attn.qkv.w) transpose_b=true`,
// or `%wte: f32[65,32] param` for a declaration.
std::string PrintNode(const Graph& g, NodeId id);

// A value's placement as the text form writes it (`@arena[0, 64]`, `@view(%x)`, ...), or ""
// for an unplanned value. See ir/placement.h.
std::string PlacementText(const Graph& g, const Placement& p);

// `%name`, or `%<bad value id N>` for an index out of range (the verifier prints broken graphs).
std::string ValueRef(const Graph& g, ValueId v);

}  // namespace gptc::ir
