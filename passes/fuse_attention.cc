// The causal-attention pattern (see fuse.h): softmax(causal_mask(scale(q k^T))) v as one
// node, and autodiff's backward of it as another that recomputes the probabilities, so the
// [B, H, T, T] probabilities are never stored (codegen/lower_attention.cc keeps them in
// cache, a tile at a time). Matched before scale_mask_softmax, which takes what is left (an
// attention with dropout on its probabilities, say).
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "passes/fusion_group.h"

namespace gptc::passes {

using ir::NodeId;
using ir::Op;
using ir::ValueId;

namespace {

bool Flag(const ir::Graph& g, NodeId n, const char* name) { return *g.node(n).attrs.GetBool(name); }

// n is a matmul with these transposes, not yet taken.
bool IsMatMul(const FusionContext& c, NodeId n, bool ta, bool tb) {
  const ir::Graph& g = c.graph();
  return n >= 0 && g.node(n).op == Op::kMatMul && !c.Taken(n) && Flag(g, n, "transpose_a") == ta &&
         Flag(g, n, "transpose_b") == tb;
}

// The single reader of v (which must not leave the graph), or -1.
NodeId OnlyReader(const FusionContext& c, ValueId v) {
  const std::vector<NodeId>& r = c.Consumers(v);
  return r.size() == 1 && !c.Escapes(v) ? r[0] : -1;
}

// The backward of one attention whose probabilities are `p` (read by `forward_mm`), or an
// empty group with `why` set when the readers of p are not exactly autodiff's backward.
struct Backward {
  NodeId dprobs = -1, dv = -1, sg = -1, mask = -1, scale = -1, dq = -1, dk = -1;
  ValueId dy = -1;
};
std::string MatchBackward(const FusionContext& c, ValueId p, NodeId forward_mm, ValueId q,
                          ValueId k, ValueId v, Backward* b) {
  const ir::Graph& g = c.graph();
  for (NodeId r : c.Consumers(p)) {
    if (r == forward_mm) continue;
    const ir::Node& n = g.node(r);
    if (n.op == Op::kSoftmaxGrad && n.inputs[0] == p && b->sg < 0) {
      b->sg = r;
    } else if (IsMatMul(c, r, true, false) && n.inputs[0] == p && b->dv < 0) {
      b->dv = r;
    } else {
      return absl::StrCat("the probabilities are also read by: ", c.Line(r));
    }
  }
  if (c.Escapes(p)) return "the probabilities are returned";
  if (b->sg < 0 && b->dv < 0) return "";  // a forward graph: no backward
  if (b->sg < 0 || b->dv < 0) return "only part of the backward reads the probabilities";
  b->dy = g.node(b->dv).inputs[1];
  const ValueId dprobs = g.node(b->sg).inputs[1];
  b->dprobs = c.ProducerOf(dprobs, Op::kMatMul);
  if (!IsMatMul(c, b->dprobs, false, true) || OnlyReader(c, dprobs) != b->sg ||
      g.node(b->dprobs).inputs != std::vector<ValueId>{b->dy, v})
    return "the probabilities' gradient is not dy v^T read only by softmax_grad";
  b->mask = OnlyReader(c, g.node(b->sg).outputs[0]);
  if (b->mask < 0 || g.node(b->mask).op != Op::kCausalMask || c.Taken(b->mask) ||
      *g.node(b->mask).attrs.GetFloat("fill") != 0.0)
    return "softmax_grad does not feed exactly one causal_mask filling 0";
  b->scale = OnlyReader(c, g.node(b->mask).outputs[0]);
  if (b->scale < 0 || g.node(b->scale).op != Op::kScale || c.Taken(b->scale))
    return "the masked gradient is not scaled";
  const ValueId ds = g.node(b->scale).outputs[0];
  if (c.Escapes(ds) || c.Consumers(ds).size() != 2) return "dscores is read by more than dq, dk";
  for (NodeId r : c.Consumers(ds)) {
    const std::vector<ValueId>& in = g.node(r).inputs;
    if (IsMatMul(c, r, false, false) && in == std::vector<ValueId>{ds, k}) b->dq = r;
    if (IsMatMul(c, r, true, false) && in == std::vector<ValueId>{ds, q}) b->dk = r;
  }
  if (b->dq < 0 || b->dk < 0) return "dscores does not feed dscores k and dscores^T q";
  return "";
}

// Grouped-query attention's repeat of keys or values: x = reshape(expand(base, axis 2)), a
// [B, H_kv, T, D] operand repeated for each of its query heads, read only by `readers`.
struct Repeat {
  NodeId expand = -1, reshape = -1;
  ValueId base = -1;
};
Repeat RepeatOf(const FusionContext& c, ValueId x, const std::vector<NodeId>& readers) {
  const ir::Graph& g = c.graph();
  Repeat r;
  r.reshape = c.ProducerOf(x, Op::kReshape);
  if (r.reshape < 0 || c.Taken(r.reshape)) return {};
  r.expand = c.ProducerOf(g.node(r.reshape).inputs[0], Op::kExpand);
  if (r.expand < 0 || c.Taken(r.expand) || OnlyReader(c, g.node(r.expand).outputs[0]) != r.reshape)
    return {};
  r.base = g.node(r.expand).inputs[0];
  if (g.value(r.base).type.rank() != 4 || *g.node(r.expand).attrs.GetInt("axis") != 2) return {};
  if (c.Escapes(x)) return {};
  for (NodeId n : c.Consumers(x))
    if (std::find(readers.begin(), readers.end(), n) == readers.end()) return {};
  return r;
}

}  // namespace

void FindCausalAttention(FusionContext& c) {
  const char* kName = "causal_attention";
  const ir::Graph& g = c.graph();
  for (NodeId mm = 0; mm < g.num_nodes(); ++mm) {
    if (!IsMatMul(c, mm, false, false)) continue;
    const ValueId p = g.node(mm).inputs[0], v = g.node(mm).inputs[1];
    const NodeId sm = c.ProducerOf(p, Op::kSoftmax);
    if (sm < 0) continue;
    const NodeId mask = c.ProducerOf(g.node(sm).inputs[0], Op::kCausalMask);
    if (mask < 0) continue;
    const double fill = *g.node(mask).attrs.GetFloat("fill");
    const NodeId scale = c.ProducerOf(g.node(mask).inputs[0], Op::kScale);
    const NodeId qk = scale < 0 ? -1 : c.ProducerOf(g.node(scale).inputs[0], Op::kMatMul);
    if (!(std::isinf(fill) && fill < 0) || qk < 0 || !IsMatMul(c, qk, false, true)) {
      c.Refuse(kName, g.node(mm).outputs[0],
               "the probabilities are not softmax(causal_mask(scale(q k^T)))");
      continue;
    }
    const ValueId q = g.node(qk).inputs[0], k = g.node(qk).inputs[1];
    const ir::Shape& qs = g.value(q).type.shape;
    if (qs.size() != 4 || g.value(k).type.shape != qs || g.value(v).type.shape != qs) {
      c.Refuse(kName, g.node(mm).outputs[0], "q, k and v are not all [B, H, T, D]");
      continue;
    }
    if (OnlyReader(c, g.node(qk).outputs[0]) != scale ||
        OnlyReader(c, g.node(scale).outputs[0]) != mask ||
        OnlyReader(c, g.node(mask).outputs[0]) != sm) {
      c.Refuse(kName, g.node(mm).outputs[0], "the scores are read by other ops too");
      continue;
    }
    Backward b;
    if (const std::string why = MatchBackward(c, p, mm, q, k, v, &b); !why.empty()) {
      c.Refuse(kName, g.node(mm).outputs[0], why);
      continue;
    }
    // Keys and values repeated for groups of query heads are read by the kernels as they
    // are, each key/value head by its group (the repeat moves into the fused bodies).
    const Repeat rk = RepeatOf(c, k, {qk, b.dq}), rv = RepeatOf(c, v, {mm, b.dprobs});
    const bool grouped = rk.base >= 0 && rv.base >= 0 &&
                         g.value(rk.base).type == g.value(rv.base).type &&
                         g.node(rk.expand).attrs == g.node(rv.expand).attrs;
    std::vector<NodeId> repeat;
    if (grouped) repeat = {rk.expand, rk.reshape, rv.expand, rv.reshape};
    const ValueId k_in = grouped ? rk.base : k, v_in = grouped ? rv.base : v;
    auto with_repeat = [&](std::vector<NodeId> members, std::vector<bool> owned, bool own_repeat) {
      members.insert(members.begin(), repeat.begin(), repeat.end());
      owned.insert(owned.begin(), repeat.size(), own_repeat);
      return std::pair{members, owned};
    };
    if (b.sg >= 0) {
      auto [members, owned] = with_repeat(
          {qk, scale, mask, sm, b.dprobs, b.dv, b.sg, b.mask, b.scale, b.dq, b.dk},
          {false, false, false, false, true, true, true, true, true, true, true}, false);
      c.Add({kName,
             Op::kCausalAttentionGrad,
             members,
             owned,
             {g.node(b.dq).outputs[0], g.node(b.dk).outputs[0], g.node(b.dv).outputs[0]},
             {q, k_in, v_in, b.dy}});
    }
    auto [members, owned] =
        with_repeat({qk, scale, mask, sm, mm}, {true, true, true, true, true}, true);
    c.Add({kName, Op::kCausalAttention, members, owned, {g.node(mm).outputs[0]}, {q, k_in, v_in}});
  }
}

}  // namespace gptc::passes
