// What the fuse pass's pattern finders share: the uses of every value, which nodes are
// already taken by a group, the groups formed so far, and the explanation log
// (`--explain-fusion`). Internal to passes/fuse*.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace gptc::passes {

// A set of nodes that becomes one fused node.
struct FusionGroup {
  std::string pattern;              // "add_layernorm", ..., "adamw", "elementwise"
  ir::Op op = ir::Op::kFusion;      // the fused op to create
  std::vector<ir::NodeId> members;  // the body, in graph order
  // owned[i]: members[i] leaves the graph; otherwise the body holds a recomputed copy (the
  // backward kernels recompute a cheap forward op instead of reading it from memory).
  std::vector<bool> owned;
  std::vector<ir::ValueId> results;  // outer values the fused node defines, in order
  // The fused node's operands in the order its op expects (the named ops' templates); empty:
  // in order of first use by the members.
  std::vector<ir::ValueId> operands;
};

class FusionContext {
 public:
  explicit FusionContext(const ir::Graph& g);

  const ir::Graph& graph() const { return g_; }
  // The nodes that read v (each once), in graph order.
  const std::vector<ir::NodeId>& Consumers(ir::ValueId v) const { return consumers_[v]; }
  // v leaves the graph: it is returned or becomes a param/state after the step.
  bool Escapes(ir::ValueId v) const { return escapes_[v]; }
  // The node that produces v, or -1 for a declaration.
  ir::NodeId Producer(ir::ValueId v) const;
  // The single result of a node that computes something (not a declaration), or -1.
  ir::NodeId ProducerOf(ir::ValueId v, ir::Op op) const;
  bool Taken(ir::NodeId n) const { return owner_[n] >= 0; }

  void Add(FusionGroup group);
  void Refuse(const std::string& pattern, ir::ValueId at, const std::string& why);
  const std::vector<FusionGroup>& groups() const { return groups_; }
  const std::vector<std::string>& log() const { return log_; }
  // "%a = add(...)" for messages.
  std::string Line(ir::NodeId n) const;

 private:
  const ir::Graph& g_;
  std::vector<std::vector<ir::NodeId>> consumers_;
  std::vector<bool> escapes_;
  std::vector<int> owner_;
  std::vector<FusionGroup> groups_;
  std::vector<std::string> log_;
};

// The pattern finders (fuse_patterns.cc, fuse_elementwise.cc). Each adds the groups it forms
// and explains what it refused.
void FindSoftmaxXent(FusionContext& c);
void FindCausalAttention(FusionContext& c);  // fuse_attention.cc
// The whole AdamW update as one adamw node (fuse_adamw.cc); false if it did not form.
bool FindAdamW(FusionContext& c);

// The body of a group: its operands become input declarations named as the outer values,
// its members are copied in order with their names, its results are yielded (fuse.cc).
std::shared_ptr<ir::Graph> BuildFusionBody(const ir::Graph& g, const FusionGroup& grp,
                                           std::vector<ir::ValueId>* operands);
void FindScaleMaskSoftmax(FusionContext& c);
void FindAddLayerNorm(FusionContext& c);
void FindBiasGelu(FusionContext& c);
void FindMatMulBias(FusionContext& c);
// Elementwise chains; `adamw` and `elementwise` say which of the two labels may be formed
// (a group that computes a state update is an AdamW update chain).
void FindElementwise(FusionContext& c, bool adamw, bool elementwise);

}  // namespace gptc::passes
