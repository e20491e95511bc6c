// The named fusion patterns (see fuse.h). Each finder matches the unfused ops the frontend
// and autodiff emit, backward first where the forward result is also read by the backward:
// once the backward kernel recomputes the cheap forward op, the forward intermediate has no
// other reader and the forward ops can fuse too.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "passes/fusion_group.h"

namespace gptc::passes {

using ir::NodeId;
using ir::Op;
using ir::ValueId;

namespace {

ValueId Out(const FusionContext& c, NodeId n, int i = 0) { return c.graph().node(n).outputs[i]; }
ValueId In(const FusionContext& c, NodeId n, int i) { return c.graph().node(n).inputs[i]; }

// v is read only by `reader` and does not leave the graph.
bool OnlyReadBy(const FusionContext& c, ValueId v, NodeId reader) {
  return !c.Escapes(v) && c.Consumers(v) == std::vector<NodeId>{reader};
}

// Why v cannot be absorbed: its other readers, or that it leaves the graph.
std::string OtherUses(const FusionContext& c, ValueId v, const std::vector<NodeId>& inside) {
  if (c.Escapes(v))
    return absl::StrCat("%", c.graph().value(v).name, " is returned or updates state");
  for (NodeId n : c.Consumers(v))
    if (std::find(inside.begin(), inside.end(), n) == inside.end())
      return absl::StrCat("%", c.graph().value(v).name, " is also read by: ", c.Line(n));
  return "";
}

double Fill(const FusionContext& c, NodeId n) { return *c.graph().node(n).attrs.GetFloat("fill"); }

}  // namespace

void FindSoftmaxXent(FusionContext& c) {
  const char* kName = "softmax_xent";
  const ir::Graph& g = c.graph();
  for (NodeId x = 0; x < g.num_nodes(); ++x) {
    if (g.node(x).op != Op::kXent || c.Taken(x)) continue;
    const ValueId p = In(c, x, 0), t = In(c, x, 1);
    const NodeId sm = c.ProducerOf(p, Op::kSoftmax);
    if (sm < 0) {
      c.Refuse(kName, Out(c, x), "its probabilities do not come from a softmax");
      continue;
    }
    // Backward: softmax_grad(p, xent_grad(p, t, dloss)) -> softmax_xent_grad(logits, t, dloss).
    std::vector<NodeId> inside = {x};
    for (NodeId xg : c.Consumers(p)) {
      if (g.node(xg).op != Op::kXentGrad || In(c, xg, 0) != p || c.Taken(xg)) continue;
      const ValueId dp = Out(c, xg);
      const std::vector<NodeId>& readers = c.Consumers(dp);
      const NodeId sg = readers.size() == 1 ? readers[0] : -1;
      if (sg < 0 || c.Escapes(dp) || g.node(sg).op != Op::kSoftmaxGrad || In(c, sg, 0) != p ||
          In(c, sg, 1) != dp) {
        c.Refuse(kName, dp,
                 "the cross-entropy gradient does not feed exactly one softmax_grad of the same "
                 "softmax");
        continue;
      }
      c.Add({kName,
             Op::kSoftmaxXentGrad,
             {sm, xg, sg},
             {false, true, true},
             {Out(c, sg)},
             {In(c, sm, 0), t, In(c, xg, 2)}});
      inside.push_back(xg);
      inside.push_back(sg);
    }
    if (const std::string why = OtherUses(c, p, inside); !why.empty()) {
      c.Refuse(kName, Out(c, x), why);
      continue;
    }
    c.Add({kName, Op::kSoftmaxXent, {sm, x}, {true, true}, {Out(c, x)}, {In(c, sm, 0), t}});
  }
}

void FindScaleMaskSoftmax(FusionContext& c) {
  const char* kName = "scale_mask_softmax";
  const ir::Graph& g = c.graph();
  for (NodeId n = 0; n < g.num_nodes(); ++n) {
    if (c.Taken(n)) continue;
    const Op op = g.node(n).op;
    if (op == Op::kSoftmax) {  // forward: softmax(causal_mask(scale(x))), mask filling -inf
      const NodeId mask = c.ProducerOf(In(c, n, 0), Op::kCausalMask);
      if (mask < 0 || !(std::isinf(Fill(c, mask)) && Fill(c, mask) < 0)) continue;  // not masked
      const NodeId scale = c.ProducerOf(In(c, mask, 0), Op::kScale);
      if (scale < 0) {
        c.Refuse(kName, Out(c, n),
                 "the masked scores are not scaled (no scale before causal_mask)");
      } else if (!OnlyReadBy(c, Out(c, mask), n) || !OnlyReadBy(c, Out(c, scale), mask)) {
        const std::string why = OtherUses(c, Out(c, scale), {mask});
        c.Refuse(kName, Out(c, n), why.empty() ? OtherUses(c, Out(c, mask), {n}) : why);
      } else {
        c.Add(
            {kName, Op::kScaleMaskSoftmax, {scale, mask, n}, {true, true, true}, {Out(c, n)}, {}});
      }
    } else if (op ==
               Op::kScale) {  // backward: scale(causal_mask(softmax_grad(y, dy))), mask filling 0
      const NodeId mask = c.ProducerOf(In(c, n, 0), Op::kCausalMask);
      if (mask < 0 || Fill(c, mask) != 0.0) continue;
      const NodeId sg = c.ProducerOf(In(c, mask, 0), Op::kSoftmaxGrad);
      if (sg < 0) continue;
      if (!OnlyReadBy(c, Out(c, mask), n) || !OnlyReadBy(c, Out(c, sg), mask)) {
        const std::string why = OtherUses(c, Out(c, sg), {mask});
        c.Refuse(kName, Out(c, n), why.empty() ? OtherUses(c, Out(c, mask), {n}) : why);
        continue;
      }
      c.Add({kName, Op::kScaleMaskSoftmaxGrad, {sg, mask, n}, {true, true, true}, {Out(c, n)}, {}});
    }
  }
}

void FindAddLayerNorm(FusionContext& c) {
  const char* kName = "add_layernorm";
  const ir::Graph& g = c.graph();
  for (NodeId n = 0; n < g.num_nodes(); ++n) {
    if (c.Taken(n)) continue;
    if (g.node(n).op == Op::kLayerNorm) {  // forward: layernorm(a + b); a + b stays a result
      const ValueId s = In(c, n, 0);
      const NodeId add = c.ProducerOf(s, Op::kAdd);
      if (add < 0) {
        const NodeId p = c.Producer(s);
        c.Refuse(kName, Out(c, n),
                 absl::StrCat("its input is not a residual add (it is ",
                              p < 0 ? "a graph argument" : ir::OpName(g.node(p).op), ")"));
      } else if (In(c, add, 0) == In(c, add, 1)) {
        c.Refuse(kName, Out(c, n), "the add sums a value with itself");
      } else {
        c.Add({kName, Op::kAddLayerNorm, {add, n}, {true, true}, {s, Out(c, n)}, {}});
      }
    } else if (g.node(n).op == Op::kLayerNormGrad) {  // backward: dres + layernorm_grad's dx
      const ValueId dx = Out(c, n, 0);
      const std::vector<NodeId>& readers = c.Consumers(dx);
      const NodeId add = readers.size() == 1 && !c.Escapes(dx) &&
                                 g.node(readers[0]).op == Op::kAdd && !c.Taken(readers[0])
                             ? readers[0]
                             : -1;
      if (add < 0) {
        c.Refuse(kName, dx,
                 readers.size() == 1 && !c.Escapes(dx) ? "dx does not feed a residual add"
                                                       : OtherUses(c, dx, {}));
        continue;
      }
      const ValueId dres = In(c, add, 0) == dx ? In(c, add, 1) : In(c, add, 0);
      if (dres == dx) {
        c.Refuse(kName, dx, "the add sums dx with itself");
        continue;
      }
      c.Add({kName,
             Op::kAddLayerNormGrad,
             {n, add},
             {true, true},
             {Out(c, add), Out(c, n, 1), Out(c, n, 2)},
             {In(c, n, 0), In(c, n, 1), In(c, n, 2), dres}});
    }
  }
}

// Both GELUs (tanh and erf) fuse the same way, each into its own pair of fused ops.
struct GeluKind {
  Op gelu, grad, fused, fused_grad;
};
constexpr GeluKind kGelus[] = {
    {Op::kGelu, Op::kGeluGrad, Op::kBiasGelu, Op::kBiasGeluGrad},
    {Op::kGeluErf, Op::kGeluErfGrad, Op::kBiasGeluErf, Op::kBiasGeluErfGrad}};

void FindBiasGelu(FusionContext& c) {
  const char* kName = "bias_gelu";
  const ir::Graph& g = c.graph();
  for (NodeId gelu = 0; gelu < g.num_nodes(); ++gelu) {
    const GeluKind* kind = nullptr;
    for (const GeluKind& k : kGelus)
      if (g.node(gelu).op == k.gelu) kind = &k;
    if (!kind || c.Taken(gelu)) continue;
    const ValueId pre = In(c, gelu, 0);
    const NodeId add = c.ProducerOf(pre, Op::kAdd);
    if (add < 0) {
      c.Refuse(kName, Out(c, gelu), "its input is not a bias add");
      continue;
    }
    // add(x, broadcast(b)) with b a vector along the last axis, in either operand order.
    NodeId bc = -1;
    ValueId x = -1;
    for (int side = 0; side < 2 && bc < 0; ++side) {
      const NodeId cand = c.ProducerOf(In(c, add, side), Op::kBroadcast);
      if (cand >= 0 && g.value(In(c, cand, 0)).type.rank() == 1) {
        bc = cand;
        x = In(c, add, 1 - side);
      }
    }
    if (bc < 0) {
      c.Refuse(kName, Out(c, gelu), "the add has no broadcast bias vector operand");
      continue;
    }
    const ValueId bias = In(c, bc, 0);
    if (!OnlyReadBy(c, Out(c, bc), add)) {
      c.Refuse(kName, Out(c, gelu), OtherUses(c, Out(c, bc), {add}));
      continue;
    }
    // Backward: gelu_grad(x + b, dy) recomputes x + b from x and b.
    std::vector<NodeId> inside = {gelu};
    for (NodeId gg : c.Consumers(pre)) {
      if (g.node(gg).op != kind->grad || In(c, gg, 0) != pre || c.Taken(gg)) continue;
      c.Add({kName,
             kind->fused_grad,
             {bc, add, gg},
             {false, false, true},
             {Out(c, gg)},
             {x, bias, In(c, gg, 1)}});
      inside.push_back(gg);
    }
    if (const std::string why = OtherUses(c, pre, inside); !why.empty()) {
      c.Refuse(kName, Out(c, gelu), why);
      continue;
    }
    c.Add({kName, kind->fused, {bc, add, gelu}, {true, true, true}, {Out(c, gelu)}, {x, bias}});
  }
}

void FindMatMulBias(FusionContext& c) {
  const char* kName = "matmul_bias";
  const ir::Graph& g = c.graph();
  for (NodeId add = 0; add < g.num_nodes(); ++add) {
    if (g.node(add).op != Op::kAdd || c.Taken(add)) continue;
    // add(matmul(a, w), broadcast(bias)) with the bias a vector along the last axis: the bias
    // goes into the GEMM's write-out.
    NodeId mm = -1, bc = -1;
    for (int side = 0; side < 2; ++side) {
      const NodeId m = c.ProducerOf(In(c, add, side), Op::kMatMul);
      const NodeId b = c.ProducerOf(In(c, add, 1 - side), Op::kBroadcast);
      if (m >= 0 && b >= 0 && g.value(In(c, b, 0)).type.rank() == 1) mm = m, bc = b;
    }
    if (mm < 0) continue;
    if (!OnlyReadBy(c, Out(c, mm), add)) {
      c.Refuse(kName, Out(c, add), OtherUses(c, Out(c, mm), {add}));
      continue;
    }
    // A broadcast that others read too stays for them; the GEMM reads the bias vector itself.
    const bool own_bc = OnlyReadBy(c, Out(c, bc), add);
    c.Add({kName,
           Op::kMatMulBias,
           {mm, bc, add},
           {true, own_bc, true},
           {Out(c, add)},
           {In(c, mm, 0), In(c, mm, 1), In(c, bc, 0)}});
  }
}

}  // namespace gptc::passes
