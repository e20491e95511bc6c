// Strided views of the memory plan: slices and transposes that move no data.
//  - Forward: a slice or transpose (and the reshapes after it) becomes a strided window on
//    its operand's memory when every reader can read strides (GEMM operands) or the window
//    is row-major anyway: q, k and v are read straight out of the qkv projection.
//  - Backward: a transpose or concat whose operands are computed by GEMMs (through
//    reshapes and transposes) has those GEMMs write straight into its result's memory: the
//    attention output lands in the [B, T, C] layout the projection reads, and the gradients
//    of q, k and v land in their slices of the qkv gradient.
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "ir/literal.h"
#include "passes/plan_internal.h"

namespace gptc::passes::plan {

using ir::Node;
using ir::Op;
using ir::Shape;
using ir::ValueId;

namespace {

struct Layout {
  ValueId root;
  int64_t offset;                // elements
  std::vector<int64_t> strides;  // elements, one per axis of the value
};
using Assignment = absl::flat_hash_map<ValueId, Layout>;

// Strides of `to` viewing the same elements as `from` with `strides`, when a reshape can
// (numpy's attempt_nocopy_reshape: each group of axes whose sizes multiply to the same
// product must be contiguous within itself).
std::optional<std::vector<int64_t>> ReshapeStrides(const Shape& from,
                                                   const std::vector<int64_t>& strides,
                                                   const Shape& to) {
  std::vector<int64_t> od, os;
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1) od.push_back(from[i]), os.push_back(strides[i]);
  std::vector<size_t> keep;  // axes of `to` larger than 1
  std::vector<int64_t> nd;
  for (size_t i = 0; i < to.size(); ++i)
    if (to[i] != 1) keep.push_back(i), nd.push_back(to[i]);
  std::vector<int64_t> ns(nd.size(), 1);
  size_t oi = 0, ni = 0;
  while (oi < od.size() && ni < nd.size()) {
    size_t oj = oi + 1, nj = ni + 1;
    int64_t op = od[oi], np = nd[ni];
    while (op != np) {
      if (np < op) {
        if (nj >= nd.size()) return std::nullopt;
        np *= nd[nj++];
      } else {
        if (oj >= od.size()) return std::nullopt;
        op *= od[oj++];
      }
    }
    for (size_t k = oi; k + 1 < oj; ++k)
      if (os[k] != od[k + 1] * os[k + 1]) return std::nullopt;
    ns[nj - 1] = os[oj - 1];
    for (size_t k = nj - 1; k > ni; --k) ns[k - 1] = ns[k] * nd[k];
    oi = oj, ni = nj;
  }
  if (oi != od.size() || ni != nd.size()) return std::nullopt;
  std::vector<int64_t> out(to.size(), 1);
  for (size_t i = 0; i < keep.size(); ++i) out[keep[i]] = ns[i];
  return out;
}

const Shape& ShapeOf(const ir::Graph& g, ValueId v) { return g.value(v).type.shape; }

// The layout of a layout op's result from its operand's.
std::optional<Layout> Forward(const ir::Graph& g, const Node& n, const Layout& in) {
  Layout out = in;
  const Shape& is = ShapeOf(g, n.inputs[0]);
  if (n.op == Op::kSlice) {
    out.offset += *n.attrs.GetInt("start") * in.strides[*n.attrs.GetInt("axis")];
  } else if (n.op == Op::kTranspose) {
    const std::vector<int64_t> perm = *n.attrs.GetInts("perm");
    for (size_t q = 0; q < perm.size(); ++q) out.strides[q] = in.strides[perm[q]];
  } else if (n.op == Op::kReshape) {
    auto s = ReshapeStrides(is, in.strides, ShapeOf(g, n.outputs[0]));
    if (!s) return std::nullopt;
    out.strides = *s;
  } else {
    return std::nullopt;
  }
  return out;
}

// The layout operand `slot` of a layout op must have for its result to have `out`.
std::optional<Layout> Backward(const ir::Graph& g, const Node& n, size_t slot, const Layout& out) {
  Layout in = out;
  if (n.op == Op::kTranspose) {
    const std::vector<int64_t> perm = *n.attrs.GetInts("perm");
    for (size_t q = 0; q < perm.size(); ++q) in.strides[perm[q]] = out.strides[q];
  } else if (n.op == Op::kReshape) {
    auto s = ReshapeStrides(ShapeOf(g, n.outputs[0]), out.strides, ShapeOf(g, n.inputs[0]));
    if (!s) return std::nullopt;
    in.strides = *s;
  } else if (n.op == Op::kConcat) {
    const int64_t axis = *n.attrs.GetInt("axis");
    for (size_t i = 0; i < slot; ++i)
      in.offset += ShapeOf(g, n.inputs[i])[axis] * out.strides[axis];
  } else {
    return std::nullopt;
  }
  return in;
}

class Views {
 public:
  explicit Views(ir::Graph& g)
      : g_(g),
        readers_(g.num_values()),
        kept_(g.num_values(), false),
        base_(g.num_values(), false) {
    for (ir::NodeId id = 0; id < g.num_nodes(); ++id)
      for (ValueId v : g.node(id).inputs)
        if (readers_[v].empty() || readers_[v].back() != id) readers_[v].push_back(id);
    for (ValueId v : g.outputs()) kept_[v] = true;
    for (const ir::Graph::Update& u : g.updates()) kept_[u.value] = true;
  }

  void Run() {
    // Backward first: results that GEMMs can write in place of a transpose or concat.
    for (ir::NodeId id = g_.num_nodes() - 1; id >= 0; --id) {
      const Node& n = g_.node(id);
      const ValueId o = n.outputs.empty() ? -1 : n.outputs[0];
      if ((n.op != Op::kTranspose && n.op != Op::kConcat) || Taken(o)) continue;
      Assignment tent;
      bool ok = true;
      for (size_t slot = 0; slot < n.inputs.size() && ok; ++slot) {
        auto l = Backward(g_, n, slot, Dense(o, o));
        ok = l && Push(n.inputs[slot], *l, id, tent);
      }
      if (ok) Commit(tent);
    }
    // Forward: slices and transposes read through strides.
    for (const Node& n : g_.nodes()) {
      if (n.op != Op::kSlice && n.op != Op::kTranspose) continue;
      const ValueId o = n.outputs[0], x = n.inputs[0];
      if (Taken(o) || base_[o]) continue;
      const Layout lx = LayoutOf(x);
      if (lx.root == o) continue;
      auto l = Forward(g_, n, lx);
      Assignment tent;
      if (l && CanRead(o, *l, -1, tent)) {
        tent[o] = *l;
        Commit(tent);
      }
    }
  }

 private:
  Layout Dense(ValueId v, ValueId root) const { return {root, 0, ir::Strides(ShapeOf(g_, v))}; }
  bool IsDense(ValueId v, const Layout& l) const {
    return l.strides == ir::Strides(ShapeOf(g_, v));
  }
  bool Taken(ValueId v) const { return done_.count(v) > 0; }
  // Where v's elements are so far: its view, or through the reshapes that produce it (which
  // are placed later, as views of their operand's memory), or its own memory.
  Layout LayoutOf(ValueId v) const {
    if (auto it = done_.find(v); it != done_.end()) return it->second;
    const Node& p = g_.node(g_.value(v).producer);
    if (p.op == Op::kReshape) {
      const Layout in = LayoutOf(p.inputs[0]);
      if (auto l = Forward(g_, p, in)) return *l;
    }
    return Dense(v, v);
  }

  // Whether every reader of v (but `skip`) can read it laid out as l; layout readers get
  // their result's layout in `tent`.
  bool CanRead(ValueId v, const Layout& l, ir::NodeId skip, Assignment& tent) {
    if (IsDense(v, l)) return true;  // row-major at an offset: any kernel reads it
    if (kept_[v]) return false;
    for (ir::NodeId r : readers_[v]) {
      if (r == skip) continue;
      const Node& n = g_.node(r);
      if (ir::HasTrait(n.op, ir::kStrided)) {
        if ((n.op == Op::kMatMulBias || n.op == Op::kMatMulAdd) && n.inputs[2] == v)
          return false;  // a bias or addend is read dense
        continue;
      }
      if (n.op != Op::kReshape && n.op != Op::kSlice && n.op != Op::kTranspose) return false;
      const ValueId o = n.outputs[0];
      auto lo = Forward(g_, n, l);
      if (!lo || Taken(o) || tent.count(o) || base_[o] || !CanRead(o, *lo, -1, tent)) return false;
      tent[o] = *lo;
    }
    return true;
  }

  // Whether v can be computed straight into layout l: its producer is a GEMM (which writes
  // strides), or a reshape or transpose whose operand can be, recursively. `reader` is the
  // layout op asking (its other readers must read l).
  bool Push(ValueId v, const Layout& l, ir::NodeId reader, Assignment& tent) {
    const Node& p = g_.node(g_.value(v).producer);
    if (ir::HasTrait(p.op, ir::kDecl) || kept_[v] || Taken(v) || tent.count(v) || base_[v])
      return false;
    if (!CanRead(v, l, reader, tent)) return false;
    tent[v] = l;
    if (ir::HasTrait(p.op, ir::kStrided)) return true;
    if (p.op != Op::kReshape && p.op != Op::kTranspose) return false;
    auto lu = Backward(g_, p, 0, l);
    return lu && Push(p.inputs[0], *lu, g_.value(v).producer, tent);
  }

  void Commit(const Assignment& tent) {
    for (const auto& [v, l] : tent) {
      done_[v] = l;
      base_[l.root] = true;
    }
  }

 public:
  void Apply() {
    for (const auto& [v, l] : done_)
      g_.mutable_value(v).place =
          ir::Placement::View(l.root, l.offset, IsDense(v, l) ? std::vector<int64_t>{} : l.strides);
  }

 private:
  ir::Graph& g_;
  std::vector<std::vector<ir::NodeId>> readers_;
  std::vector<bool> kept_, base_;
  Assignment done_;
};

}  // namespace

void PlaceStridedViews(ir::Graph& g) {
  Views v(g);
  v.Run();
  v.Apply();
}

std::optional<std::vector<int64_t>> ComposeReshape(const Shape& from,
                                                   const std::vector<int64_t>& strides,
                                                   const Shape& to) {
  return ReshapeStrides(from, strides, to);
}

}  // namespace gptc::passes::plan
