// Offsets in the arena: best fit over live intervals (XLA's GlobalDecreasingSizeBestFitHeap,
// TFLite's greedy-by-size), under several orders of placement; the smallest arena wins.
#include <algorithm>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "passes/plan_internal.h"

namespace gptc::passes::plan {

namespace {

bool Overlap(const Interval& a, const Interval& b) { return a.begin <= b.end && b.begin <= a.end; }

// Places items in the given order, each at the smallest gap between the buffers already
// placed that are live at the same time (or past their end when no gap fits).
ArenaAssignment BestFit(const std::vector<Interval>& items, const std::vector<size_t>& order) {
  ArenaAssignment a;
  a.offset.assign(items.size(), -1);
  std::vector<size_t> placed;
  std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end) of conflicting placed buffers
  for (size_t i : order) {
    busy.clear();
    for (size_t j : placed)
      if (Overlap(items[i], items[j])) busy.emplace_back(a.offset[j], a.offset[j] + items[j].bytes);
    std::sort(busy.begin(), busy.end());
    int64_t best = -1, best_gap = kForever, cursor = 0;
    for (const auto& [off, end] : busy) {
      const int64_t gap = off - cursor;
      if (gap >= items[i].bytes && gap < best_gap) best = cursor, best_gap = gap;
      cursor = std::max(cursor, end);
    }
    a.offset[i] = best >= 0 ? best : cursor;
    a.size = std::max(a.size, a.offset[i] + items[i].bytes);
    placed.push_back(i);
  }
  return a;
}

}  // namespace

std::vector<Interval> ArenaIntervals(const ir::Graph& g) {
  const Liveness live = ComputeLiveness(g);
  absl::flat_hash_map<ir::ValueId, size_t> index;
  std::vector<Interval> items;
  for (ir::ValueId v = 0; v < g.num_values(); ++v) {
    const ir::ValueId r = RootOf(g, v);
    const ir::Placement& rp = g.value(r).place;
    if (rp.kind != ir::Placement::Kind::kNone && rp.region != ir::Region::kArena)
      continue;  // persistent
    auto [it, inserted] = index.emplace(r, items.size());
    if (inserted)
      items.push_back({r, live.def[v], live.last[v], ir::AlignUp(ValueBytes(g.value(r)))});
    Interval& in = items[it->second];
    in.begin = std::min(in.begin, live.def[v]);
    in.end = std::max(in.end, live.last[v]);
  }
  return items;
}

int64_t PeakLiveBytes(const std::vector<Interval>& items) {
  std::vector<std::pair<int64_t, int64_t>>
      events;  // (position, +bytes at begin / -bytes after end)
  for (const Interval& i : items) {
    events.emplace_back(i.begin, i.bytes);
    if (i.end != kForever) events.emplace_back(i.end + 1, -i.bytes);
  }
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second < b.second;  // frees first
  });
  int64_t now = 0, peak = 0;
  for (const auto& [pos, delta] : events) {
    now += delta;
    peak = std::max(peak, now);
  }
  return peak;
}

ArenaAssignment AssignOffsets(const std::vector<Interval>& items) {
  using Less = std::function<bool(const Interval&, const Interval&)>;
  const std::vector<std::pair<const char*, Less>> strategies = {
      {"best fit by size",
       [](const Interval& a, const Interval& b) {
         return a.bytes != b.bytes ? a.bytes > b.bytes : a.begin < b.begin;
       }},
      {"best fit by start",
       [](const Interval& a, const Interval& b) {
         return a.begin != b.begin ? a.begin < b.begin : a.bytes > b.bytes;
       }},
      {"best fit by lifetime",
       [](const Interval& a, const Interval& b) {
         const int64_t la = a.end == kForever ? kForever : a.end - a.begin;
         const int64_t lb = b.end == kForever ? kForever : b.end - b.begin;
         return la != lb ? la > lb : a.bytes > b.bytes;
       }},
  };
  ArenaAssignment best;
  best.size = kForever;
  for (const auto& [name, less] : strategies) {
    std::vector<size_t> order(items.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return less(items[a], items[b]); });
    ArenaAssignment a = BestFit(items, order);
    a.strategy = name;
    if (a.size < best.size) best = std::move(a);
  }
  if (items.empty()) best.size = 0;
  return best;
}

}  // namespace gptc::passes::plan
