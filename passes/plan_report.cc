#include "passes/plan_report.h"

#include <algorithm>

#include "ir/plan_check.h"
#include "ir/printer.h"
#include "passes/plan_internal.h"

namespace gptc::passes {

MemoryReport AnalyzePlan(const ir::Graph& g, int top) {
  MemoryReport r;
  r.graph = g.name();
  for (ir::ValueId v = 0; v < g.num_values(); ++v) {
    const ir::Value& val = g.value(v);
    const ir::Op op = g.node(val.producer).op;
    const ir::Placement& p = val.place;
    if (p.kind == ir::Placement::Kind::kView) ++r.views;
    if (p.kind == ir::Placement::Kind::kInPlace) ++r.in_place;
    if (p.kind == ir::Placement::Kind::kMemory && ir::IsPersistent(p.region))
      r.persistent_bytes[static_cast<int>(p.region)] += p.bytes;
    if (ir::HasTrait(op, ir::kDecl) || op == ir::Op::kReshape) continue;
    if (p.kind == ir::Placement::Kind::kMemory && p.region == ir::Region::kGrad) continue;
    r.naive_bytes += ir::AlignUp(plan::ValueBytes(val));
    if ((op == ir::Op::kSlice || op == ir::Op::kTranspose || op == ir::Op::kConcat) &&
        !(g.planned() && ir::MovesNoData(g, g.node(val.producer))))
      ++r.copy_kernels;
  }
  for (int i = 1; i < ir::kNumRegions; ++i) r.persistent_total += r.persistent_bytes[i];
  if (!g.planned()) return r;
  const std::vector<plan::Interval> items = plan::ArenaIntervals(g);
  for (const plan::Interval& i : items) {
    const ir::Placement& p = g.value(i.root).place;
    r.planned_bytes = std::max(r.planned_bytes, p.offset + p.bytes);
  }
  // The peak: sweep the positions, keeping the live total.
  const int64_t end = g.num_nodes();
  std::vector<int64_t> delta(end + 2, 0);
  for (const plan::Interval& i : items) {
    delta[std::max<int64_t>(0, i.begin)] += i.bytes;
    if (i.end != plan::kForever) delta[i.end + 1] -= i.bytes;
  }
  int64_t now = 0;
  for (int64_t pos = 0; pos <= end; ++pos) {
    now += delta[pos];
    if (now > r.lower_bound_bytes) r.lower_bound_bytes = now, r.peak_position = pos;
  }
  if (r.planned_bytes > 0)
    r.fragmentation = double(r.planned_bytes - r.lower_bound_bytes) / r.planned_bytes;
  if (r.peak_position >= 0 && r.peak_position < end) {
    r.peak_node = ir::PrintNode(g, static_cast<ir::NodeId>(r.peak_position));
    for (const plan::Interval& i : items)
      if (std::max<int64_t>(0, i.begin) <= r.peak_position && i.end >= r.peak_position)
        r.peak_tensors.emplace_back(g.value(i.root).name, i.bytes);
    std::stable_sort(r.peak_tensors.begin(), r.peak_tensors.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (static_cast<int>(r.peak_tensors.size()) > top) r.peak_tensors.resize(top);
  }
  return r;
}

}  // namespace gptc::passes
