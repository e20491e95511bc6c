#include "ir/plan_check.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "ir/printer.h"

namespace gptc::ir {
namespace {

constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();  // live past the last node

absl::Status Error(const Graph& g, ValueId v, const std::string& msg) {
  return absl::InvalidArgumentError(
      absl::StrCat("plan: %", g.value(v).name, " ", PlacementText(g, g.value(v).place), ": ", msg));
}

// Positions in the step: declarations are at -1, node i at i.
struct Liveness {
  std::vector<int64_t> def, last;  // by value
};

Liveness ComputeLiveness(const Graph& g) {
  Liveness l;
  l.def.assign(g.num_values(), -1);
  l.last.assign(g.num_values(), -1);
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    const int64_t at = HasTrait(n.op, kDecl) ? -1 : id;
    for (ValueId v : n.outputs) l.def[v] = l.last[v] = at;
    for (ValueId v : n.inputs) l.last[v] = std::max(l.last[v], at);
  }
  for (ValueId v : g.outputs()) l.last[v] = kEnd;  // read after the step
  for (const Graph::Update& u : g.updates()) l.last[u.value] = kEnd;
  return l;
}

// The value whose memory `v` uses (following views and in-place chains), or -1 on a cycle.
ValueId Root(const Graph& g, ValueId v) {
  for (int hops = 0; hops <= g.num_values(); ++hops) {
    const Placement& p = g.value(v).place;
    if (p.kind == Placement::Kind::kMemory) return v;
    if (p.kind == Placement::Kind::kNone || p.base < 0 || p.base >= g.num_values()) return -1;
    v = p.base;
  }
  return -1;
}

absl::Status CheckKind(const Graph& g, ValueId v) {
  const Value& val = g.value(v);
  const Placement& p = val.place;
  const Op op = g.node(val.producer).op;
  if (p.kind == Placement::Kind::kNone)
    return Error(g, v, "has no placement (a planned graph places every value)");
  if (p.kind != Placement::Kind::kMemory) {
    if (p.base < 0 || p.base >= g.num_values() || p.base == v)
      return Error(g, v, "names no other value as its base");
    if (HasTrait(op, kDecl))
      return Error(g, v, "a declaration owns its memory; it cannot be a view or in place");
    if (g.value(p.base).type.dtype != val.type.dtype)
      return Error(g, v, "has another dtype than its base");
    return absl::OkStatus();
  }
  const Region want = op == Op::kParam   ? Region::kParam
                      : op == Op::kState ? Region::kState
                      : op == Op::kInput ? Region::kInput
                                         : Region::kArena;
  if (HasTrait(op, kDecl) ? p.region != want : IsPersistent(p.region) && p.region != Region::kGrad)
    return Error(g, v, absl::StrCat("belongs in @", RegionName(want)));
  if (p.offset < 0 || p.offset % kPlanAlignment != 0)
    return Error(g, v, absl::StrCat("offset is not a non-negative multiple of ", kPlanAlignment));
  if (p.bytes < val.type.bytes())
    return Error(g, v,
                 absl::StrCat("has ", p.bytes, " bytes for ", val.type.bytes(), " bytes of ",
                              TypeToString(val.type)));
  return absl::OkStatus();
}

// A view's elements, relative to its root, lie inside the root's bytes.
absl::Status CheckView(const Graph& g, ValueId v, ValueId root) {
  const Placement& p = g.value(v).place;
  const Shape& shape = g.value(v).type.shape;
  if (g.value(p.base).place.kind == Placement::Kind::kView)
    return Error(
        g, v,
        absl::StrCat("is a view of a view (%", g.value(p.base).name, "); name the base's memory"));
  if (!p.strides.empty() && p.strides.size() != shape.size())
    return Error(g, v,
                 absl::StrCat("has ", p.strides.size(), " strides for ", shape.size(), " axes"));
  int64_t lo = p.offset, hi = p.offset;  // elements
  if (p.strides.empty()) {
    hi += std::max<int64_t>(1, NumElements(shape)) - 1;
  } else {
    for (size_t a = 0; a < shape.size(); ++a) {
      if (shape[a] == 0) return absl::OkStatus();
      const int64_t span = (shape[a] - 1) * p.strides[a];
      (span < 0 ? lo : hi) += span;
    }
  }
  const int64_t elems = g.value(root).place.bytes / DTypeBytes(g.value(v).type.dtype);
  if (lo < 0 || hi >= elems)
    return Error(g, v,
                 absl::StrCat("reaches elements [", lo, ", ", hi, "] of a base with ", elems,
                              " elements (%", g.value(root).name, ")"));
  return absl::OkStatus();
}

}  // namespace

bool MovesNoData(const Graph& g, const Node& n) {
  if (n.op != Op::kReshape && n.op != Op::kSlice && n.op != Op::kTranspose && n.op != Op::kConcat)
    return false;
  const Placement& out = g.value(n.outputs[0]).place;
  const ValueId root = Root(g, n.outputs[0]);
  if (root < 0) return false;
  if (out.kind == Placement::Kind::kView && n.inputs.size() == 1 && Root(g, n.inputs[0]) == root)
    return true;
  for (ValueId v : n.inputs)
    if (g.value(v).place.kind != Placement::Kind::kView || Root(g, v) != root) return false;
  return true;
}

absl::Status CheckPlan(const Graph& g) {
  if (!g.planned()) return absl::OkStatus();
  const int nv = g.num_values();
  for (ValueId v = 0; v < nv; ++v)
    if (absl::Status s = CheckKind(g, v); !s.ok()) return s;
  std::vector<ValueId> root(nv);
  for (ValueId v = 0; v < nv; ++v) {
    root[v] = Root(g, v);
    if (root[v] < 0) return Error(g, v, "its chain of bases is a cycle or ends in no memory");
  }
  const Liveness live = ComputeLiveness(g);
  for (ValueId v = 0; v < nv; ++v) {
    const Placement& p = g.value(v).place;
    if (p.kind == Placement::Kind::kView) {
      if (absl::Status s = CheckView(g, v, root[v]); !s.ok()) return s;
    } else if (p.kind == Placement::Kind::kInPlace) {
      const int64_t at = live.def[v];
      if (g.value(p.base).type.bytes() != g.value(v).type.bytes())
        return Error(g, v, absl::StrCat("has another size than %", g.value(p.base).name));
      // Everything that used this memory before must be dead after the write.
      for (ValueId u = 0; u < nv; ++u) {
        if (u == v || root[u] != root[v] || live.def[u] >= at) continue;
        if (live.last[u] > at)
          return Error(g, v,
                       absl::StrCat("overwrites %", g.value(u).name, ", which is read later (",
                                    live.last[u] == kEnd ? "after the step"
                                                         : absl::StrCat("by node ", live.last[u]),
                                    ")"));
      }
    }
  }
  // Each memory root is live from the first definition to the last use of anything in it.
  struct Span {
    ValueId root;
    int64_t begin, end;
  };
  std::vector<Span> spans(nv, Span{-1, kEnd, -1});
  for (ValueId v = 0; v < nv; ++v) {
    Span& s = spans[root[v]];
    s.root = root[v];
    s.begin = std::min(s.begin, live.def[v]);
    s.end = std::max(s.end, live.last[v]);
  }
  std::vector<Span> roots;
  for (const Span& s : spans) {
    if (s.root < 0) continue;
    Span r = s;
    if (IsPersistent(g.value(r.root).place.region)) r = {r.root, -1, kEnd};  // kept across the step
    roots.push_back(r);
  }
  std::sort(roots.begin(), roots.end(), [&](const Span& a, const Span& b) {
    return g.value(a.root).place.offset < g.value(b.root).place.offset;
  });
  for (size_t i = 0; i < roots.size(); ++i) {
    const Placement& a = g.value(roots[i].root).place;
    for (size_t j = i + 1; j < roots.size(); ++j) {
      const Placement& b = g.value(roots[j].root).place;
      if (b.offset >= a.offset + a.bytes) continue;  // sorted: no later root overlaps a here
      if (a.region != b.region) continue;
      if (roots[i].begin > roots[j].end || roots[j].begin > roots[i].end) continue;
      auto when = [](const Span& s) {
        return absl::StrCat(s.begin < 0 ? "start" : absl::StrCat("node ", s.begin), " to ",
                            s.end == kEnd ? "end" : absl::StrCat("node ", s.end));
      };
      return absl::InvalidArgumentError(absl::StrCat(
          "plan: %", g.value(roots[i].root).name, " ", PlacementText(g, a), " and %",
          g.value(roots[j].root).name, " ", PlacementText(g, b),
          " overlap in memory while both are live (", when(roots[i]), ", ", when(roots[j]), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace gptc::ir
