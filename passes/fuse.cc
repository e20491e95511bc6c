#include "passes/fuse.h"

#include <algorithm>
#include <memory>
#include <queue>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/check.h"
#include "ir/fused_ops.h"
#include "ir/printer.h"
#include "ir/status_macros.h"
#include "passes/chunk_xent.h"
#include "passes/dce.h"
#include "passes/fusion_group.h"

namespace gptc::passes {

FusionContext::FusionContext(const ir::Graph& g)
    : g_(g),
      consumers_(g.num_values()),
      escapes_(g.num_values(), false),
      owner_(g.num_nodes(), -1) {
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id)
    for (ir::ValueId v : g.node(id).inputs)
      if (consumers_[v].empty() || consumers_[v].back() != id) consumers_[v].push_back(id);
  for (ir::ValueId v : g.outputs()) escapes_[v] = true;
  for (const ir::Graph::Update& u : g.updates()) escapes_[u.value] = true;
}

ir::NodeId FusionContext::Producer(ir::ValueId v) const {
  const ir::NodeId p = g_.value(v).producer;
  return ir::HasTrait(g_.node(p).op, ir::kDecl) ? -1 : p;
}

ir::NodeId FusionContext::ProducerOf(ir::ValueId v, ir::Op op) const {
  const ir::NodeId p = Producer(v);
  return p >= 0 && g_.node(p).op == op && !Taken(p) ? p : -1;
}

void FusionContext::Add(FusionGroup group) {
  const int index = static_cast<int>(groups_.size());
  std::vector<std::string> ops;
  for (size_t i = 0; i < group.members.size(); ++i) {
    ops.push_back(ir::OpName(g_.node(group.members[i]).op));
    if (group.owned[i]) owner_[group.members[i]] = index;
  }
  std::vector<std::string> results;
  for (ir::ValueId v : group.results) results.push_back(ir::ValueRef(g_, v));
  log_.push_back(absl::StrCat("fuse ", group.pattern, ": ", absl::StrJoin(results, ", "), " <- ",
                              ir::OpName(group.op), " {", absl::StrJoin(ops, ", "), "}"));
  groups_.push_back(std::move(group));
}

void FusionContext::Refuse(const std::string& pattern, ir::ValueId at, const std::string& why) {
  log_.push_back(absl::StrCat("refuse ", pattern, " at ", ir::ValueRef(g_, at), ": ", why));
}

std::string FusionContext::Line(ir::NodeId n) const { return ir::PrintNode(g_, n); }

namespace {

const std::vector<std::string>& Patterns() {
  static const auto* p =
      new std::vector<std::string>{"softmax_xent",  "causal_attention", "scale_mask_softmax",
                                   "add_layernorm", "bias_gelu",        "matmul_bias",
                                   "adamw",         "elementwise",      "chunked_xent"};
  return *p;
}

// The body of a group: its operands become input declarations named as the outer values,
// its members are copied in order with their names, its results are yielded.
}  // namespace

std::shared_ptr<ir::Graph> BuildFusionBody(const ir::Graph& g, const FusionGroup& grp,
                                           std::vector<ir::ValueId>* operands) {
  auto body = std::make_shared<ir::Graph>(absl::StrCat(grp.pattern));
  std::vector<ir::ValueId> map(g.num_values(), -1);
  std::vector<bool> inside(g.num_values(), false);
  for (ir::NodeId m : grp.members)
    for (ir::ValueId v : g.node(m).outputs) inside[v] = true;
  std::vector<ir::ValueId> order = grp.operands;
  if (order.empty())
    for (ir::NodeId m : grp.members)
      for (ir::ValueId v : g.node(m).inputs)
        if (!inside[v] && std::find(order.begin(), order.end(), v) == order.end())
          order.push_back(v);
  for (ir::ValueId v : order) {
    map[v] = body->AddInput(g.value(v).name, g.value(v).type);
    operands->push_back(v);
  }
  for (ir::NodeId m : grp.members) {
    const ir::Node& n = g.node(m);
    std::vector<ir::ValueId> ins;
    for (ir::ValueId v : n.inputs) ins.push_back(map[v]);
    std::vector<std::pair<std::string, ir::TensorType>> outs;
    for (ir::ValueId v : n.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
    const ir::NodeId bn = body->AddNode(n.op, std::move(ins), n.attrs, outs);
    for (size_t i = 0; i < n.outputs.size(); ++i) map[n.outputs[i]] = body->node(bn).outputs[i];
  }
  for (ir::ValueId v : grp.results) body->AddOutput(map[v]);
  return body;
}

namespace {

// Nodes in an order where every value is defined before use, keeping the given order where
// it already is one (Kahn's algorithm, smallest position first). A fused node sits where
// its last member was, which can come after a use of an earlier member's result.
absl::StatusOr<std::vector<int>> StableOrder(const std::vector<std::vector<int>>& deps) {
  const int n = static_cast<int>(deps.size());
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (int i = 0; i < n; ++i)
    for (int d : deps[i]) {
      ++pending[i];
      users[d].push_back(i);
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  if (static_cast<int>(order.size()) != n)
    return absl::InternalError("fuse: a fusion group would close a cycle");
  return order;
}

absl::StatusOr<ir::Graph> Apply(const ir::Graph& g, const FusionContext& c) {
  // Each kept node or fused group becomes an item placed at its (last) position.
  struct Item {
    ir::NodeId node = -1;  // an original node, or
    int group = -1;        // a group
    std::vector<ir::ValueId> inputs, outputs;
  };
  std::vector<int> owner(g.num_nodes(), -1), last(c.groups().size(), -1);
  for (size_t gi = 0; gi < c.groups().size(); ++gi) {
    const FusionGroup& grp = c.groups()[gi];
    for (size_t i = 0; i < grp.members.size(); ++i)
      if (grp.owned[i]) {
        owner[grp.members[i]] = static_cast<int>(gi);
        last[gi] = std::max(last[gi], grp.members[i]);
      }
  }
  std::vector<Item> items;
  std::vector<std::shared_ptr<ir::Graph>> bodies(c.groups().size());
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    if (owner[id] < 0) {
      items.push_back({id, -1, g.node(id).inputs, g.node(id).outputs});
    } else if (last[owner[id]] == id) {
      const int gi = owner[id];
      Item it{-1, gi, {}, c.groups()[gi].results};
      bodies[gi] = BuildFusionBody(g, c.groups()[gi], &it.inputs);
      items.push_back(std::move(it));
    }
  }
  std::vector<int> def(g.num_values(), -1);
  for (size_t i = 0; i < items.size(); ++i)
    for (ir::ValueId v : items[i].outputs) def[v] = static_cast<int>(i);
  std::vector<std::vector<int>> deps(items.size());
  for (size_t i = 0; i < items.size(); ++i)
    for (ir::ValueId v : items[i].inputs) {
      GPTC_CHECK(def[v] >= 0) << "fuse: %" << g.value(v).name << " is used but no longer defined";
      deps[i].push_back(def[v]);
    }
  ASSIGN_OR_RETURN(std::vector<int> order, StableOrder(deps));

  ir::Graph out(g.name());
  std::vector<ir::ValueId> map(g.num_values(), -1);
  for (int i : order) {
    const Item& it = items[i];
    std::vector<ir::ValueId> ins;
    for (ir::ValueId v : it.inputs) ins.push_back(map[v]);
    std::vector<std::pair<std::string, ir::TensorType>> outs;
    for (ir::ValueId v : it.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
    ir::NodeId nn;
    if (it.group < 0) {
      const ir::Node& n = g.node(it.node);
      nn = out.AddNode(n.op, std::move(ins), n.attrs, outs);
      out.SetBody(nn, n.body);
    } else {
      const FusionGroup& grp = c.groups()[it.group];
      ASSIGN_OR_RETURN(ir::Attrs attrs, ir::FusedAttrs(grp.op, *bodies[it.group]));
      if (grp.op == ir::Op::kFusion) attrs.Set("pattern", grp.pattern);
      nn = out.AddNode(grp.op, std::move(ins), std::move(attrs), outs);
      out.SetBody(nn, bodies[it.group]);
    }
    for (size_t k = 0; k < it.outputs.size(); ++k) map[it.outputs[k]] = out.node(nn).outputs[k];
  }
  for (ir::ValueId v : g.outputs()) out.AddOutput(map[v]);
  for (const ir::Graph::Update& u : g.updates()) out.AddUpdate(map[u.target], map[u.value]);
  return out;
}

}  // namespace

const std::vector<std::string>& FusionPatterns() { return Patterns(); }

absl::Status CheckFusionPatterns(const std::set<std::string>& names) {
  for (const std::string& n : names)
    if (std::find(Patterns().begin(), Patterns().end(), n) == Patterns().end())
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown fusion pattern '", n, "'; the patterns are: ", absl::StrJoin(Patterns(), ", ")));
  return absl::OkStatus();
}

absl::StatusOr<ir::Graph> Fuse(const ir::Graph& g, const FuseOptions& options) {
  RETURN_IF_ERROR(CheckFusionPatterns(options.patterns));
  for (const ir::Node& n : g.nodes())
    if (ir::HasTrait(n.op, ir::kFused))
      return absl::FailedPreconditionError(
          "fuse: the graph is already fused (it runs once, after autodiff)");
  auto on = [&](const char* p) {
    return options.patterns.empty() || options.patterns.count(p) > 0;
  };
  FusionContext c(g);
  // Backward and forward of a pattern are matched together inside each finder; the named
  // patterns go first so the generic rule only sees what they left.
  if (on("softmax_xent")) FindSoftmaxXent(c);
  if (on("causal_attention")) FindCausalAttention(c);  // before scale_mask_softmax takes its ops
  if (on("scale_mask_softmax")) FindScaleMaskSoftmax(c);
  if (on("add_layernorm")) FindAddLayerNorm(c);
  if (on("bias_gelu")) FindBiasGelu(c);
  if (on("matmul_bias")) FindMatMulBias(c);  // after bias_gelu, which takes the MLP's first bias
  // All of AdamW as one node; if the graph's update is not exactly AdamW's, its chains fuse
  // one per parameter as before.
  if (on("adamw")) FindAdamW(c);
  if (on("adamw") || on("elementwise")) FindElementwise(c, on("adamw"), on("elementwise"));
  if (options.explain)
    for (const std::string& line : c.log()) *options.explain << line << "\n";
  if (c.groups().empty()) return g;
  ASSIGN_OR_RETURN(ir::Graph fused, Apply(g, c));
  // Values only the absorbed ops read (a broadcast copied into a backward body) are now dead.
  ASSIGN_OR_RETURN(fused, DeadCodeElimination(fused));
  if (!on("chunked_xent")) return fused;
  return ChunkCrossEntropy(fused, options.xent, options.explain);
}

}  // namespace gptc::passes
