#include "passes/plan.h"

#include "ir/check.h"
#include "passes/adamw.h"
#include "passes/plan_internal.h"
#include "passes/rebuild.h"

namespace gptc::passes {

namespace {

using ir::Placement;

struct Candidate {
  ir::Graph graph;
  std::vector<plan::Interval> items;
  plan::ArenaAssignment arena;
};

Candidate PlanInOrder(ir::Graph g, const PlanOptions& options) {
  for (ir::ValueId v = 0; v < g.num_values(); ++v) g.mutable_value(v).place = Placement();
  plan::AssignAliases(g, options);
  Candidate c{std::move(g), {}, {}};
  c.items = plan::ArenaIntervals(c.graph);
  c.arena = plan::AssignOffsets(c.items);
  return c;
}

// Lays out each persistent region contiguously: parameters in AdamW's order (the decayed
// ones first), their gradients likewise, the other declarations in order (AdamW declares
// the moments so that they mirror the parameters). Every graph of a model lays its
// parameters out alike, so they share one block of the StateStore.
void LayOutPersistent(ir::Graph& g) {
  int64_t next[ir::kNumRegions] = {};
  auto place = [&](ir::ValueId v) {
    Placement& p = g.mutable_value(v).place;
    if (p.kind != Placement::Kind::kMemory || p.offset >= 0) return;
    p.offset = next[static_cast<int>(p.region)];
    next[static_cast<int>(p.region)] += p.bytes;
  };
  const std::vector<ir::ValueId> params = AdamWOrder(g);
  for (ir::ValueId p : params) place(p);
  for (const ir::Node& n : g.nodes())
    if (ir::HasTrait(n.op, ir::kDecl)) place(n.outputs[0]);
  for (ir::ValueId p : params)
    if (auto grad = g.FindValue("grad." + g.value(p).name)) place(*grad);
  for (ir::ValueId v = 0; v < g.num_values(); ++v)
    GPTC_CHECK(g.value(v).place.kind != Placement::Kind::kMemory || g.value(v).place.offset >= 0)
        << "plan: %" << g.value(v).name << " has no offset";
}

}  // namespace

ir::Graph PlanNaive(const ir::Graph& g) {
  PlanOptions naive;
  naive.in_place = false;
  naive.strided_views = false;
  ir::Graph out = g;
  for (ir::ValueId v = 0; v < out.num_values(); ++v) out.mutable_value(v).place = Placement();
  plan::AssignAliases(out, naive);
  int64_t next = 0;
  for (const plan::Interval& i : plan::ArenaIntervals(out)) {
    out.mutable_value(i.root).place = Placement::Memory(ir::Region::kArena, next, i.bytes);
    next += i.bytes;
  }
  LayOutPersistent(out);
  return out;
}

absl::StatusOr<ir::Graph> Plan(const ir::Graph& g, const PlanOptions& options) {
  if (g.planned()) return absl::FailedPreconditionError("plan: the graph is planned already");
  Candidate best = PlanInOrder(g, options);
  if (options.reorder) {
    const std::vector<ir::NodeId> order = plan::GreedyMemoryOrder(g);
    GPTC_CHECK(static_cast<int>(order.size()) == g.num_nodes())
        << "plan: the greedy order lost nodes";
    Candidate c = PlanInOrder(Rebuild(g, {}, IdentityReplacement(g), &order), options);
    if (c.arena.size < best.arena.size) best = std::move(c);
  }
  ir::Graph& out = best.graph;
  for (size_t i = 0; i < best.items.size(); ++i)
    out.mutable_value(best.items[i].root).place =
        Placement::Memory(ir::Region::kArena, best.arena.offset[i], best.items[i].bytes);
  LayOutPersistent(out);
  return std::move(out);
}

}  // namespace gptc::passes
