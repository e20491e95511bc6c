#include "ir/fused_ops.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/adamw_update.h"
#include "ir/emitter.h"
#include "ir/fusion_layout.h"
#include "ir/printer.h"
#include "ir/status_macros.h"

namespace gptc::ir {
namespace {

// A template operand: body input `index` (kInput), or output `out` of template step `index`.
struct Ref {
  enum Kind { kInput, kStep } kind;
  int index;
  int out = 0;
};
Ref In(int i) { return {Ref::kInput, i}; }
Ref Step(int s, int out = 0) { return {Ref::kStep, s, out}; }

struct TemplateStep {
  Op op;
  std::vector<Ref> args;
};

struct Template {
  Op fused;
  std::vector<TemplateStep> steps;
  std::vector<Ref> yields;
};

// Grouped-query attention: the attention templates with k and v (operands 1 and 2) having
// fewer heads, each repeated for its group of query heads first (expand at axis 2, reshape
// to q's heads: {expand k, reshape, expand v, reshape}); the rest reads the repeats.
Template GroupedQuery(const Template& t) {
  auto shift = [](Ref r) {
    if (r.kind == Ref::kStep) return Step(r.index + 4, r.out);
    if (r.index == 1) return Step(1);
    if (r.index == 2) return Step(3);
    return r;
  };
  Template g{t.fused,
             {{Op::kExpand, {In(1)}},
              {Op::kReshape, {Step(0)}},
              {Op::kExpand, {In(2)}},
              {Op::kReshape, {Step(2)}}},
             {}};
  for (const TemplateStep& s : t.steps) {
    TemplateStep m{s.op, {}};
    for (const Ref& r : s.args) m.args.push_back(shift(r));
    g.steps.push_back(m);
  }
  for (const Ref& r : t.yields) g.yields.push_back(shift(r));
  return g;
}

// The named fused ops, written as the unfused ops the frontend and autodiff emit; the attention
// ops also in their grouped-query form.
const std::vector<Template>& Templates() {
  static const auto* t = [] {
    auto* named = new std::vector<Template>{
        {Op::kAddLayerNorm,
         {{Op::kAdd, {In(0), In(1)}}, {Op::kLayerNorm, {Step(0), In(2), In(3)}}},
         {Step(0), Step(1)}},
        {Op::kAddLayerNormGrad,
         {{Op::kLayerNormGrad, {In(0), In(1), In(2)}}, {Op::kAdd, {In(3), Step(0, 0)}}},
         {Step(1), Step(0, 1), Step(0, 2)}},
        {Op::kScaleMaskSoftmax,
         {{Op::kScale, {In(0)}}, {Op::kCausalMask, {Step(0)}}, {Op::kSoftmax, {Step(1)}}},
         {Step(2)}},
        {Op::kScaleMaskSoftmaxGrad,
         {{Op::kSoftmaxGrad, {In(0), In(1)}},
          {Op::kCausalMask, {Step(0)}},
          {Op::kScale, {Step(1)}}},
         {Step(2)}},
        {Op::kMatMulBias,
         {{Op::kMatMul, {In(0), In(1)}}, {Op::kBroadcast, {In(2)}}, {Op::kAdd, {Step(0), Step(1)}}},
         {Step(2)}},
        {Op::kMatMulAdd, {{Op::kMatMul, {In(0), In(1)}}, {Op::kAdd, {Step(0), In(2)}}}, {Step(1)}},
        {Op::kBiasGelu,
         {{Op::kBroadcast, {In(1)}}, {Op::kAdd, {In(0), Step(0)}}, {Op::kGelu, {Step(1)}}},
         {Step(2)}},
        {Op::kBiasGeluGrad,
         {{Op::kBroadcast, {In(1)}},
          {Op::kAdd, {In(0), Step(0)}},
          {Op::kGeluGrad, {Step(1), In(2)}}},
         {Step(2)}},
        {Op::kBiasGeluErf,
         {{Op::kBroadcast, {In(1)}}, {Op::kAdd, {In(0), Step(0)}}, {Op::kGeluErf, {Step(1)}}},
         {Step(2)}},
        {Op::kBiasGeluErfGrad,
         {{Op::kBroadcast, {In(1)}},
          {Op::kAdd, {In(0), Step(0)}},
          {Op::kGeluErfGrad, {Step(1), In(2)}}},
         {Step(2)}},
        {Op::kSoftmaxXent, {{Op::kSoftmax, {In(0)}}, {Op::kXent, {Step(0), In(1)}}}, {Step(1)}},
        {Op::kSoftmaxXentGrad,
         {{Op::kSoftmax, {In(0)}},
          {Op::kXentGrad, {Step(0), In(1), In(2)}},
          {Op::kSoftmaxGrad, {Step(0), Step(1)}}},
         {Step(2)}},
        {Op::kCausalAttention,
         {{Op::kMatMul, {In(0), In(1)}},  // q k^T
          {Op::kScale, {Step(0)}},
          {Op::kCausalMask, {Step(1)}},
          {Op::kSoftmax, {Step(2)}},
          {Op::kMatMul, {Step(3), In(2)}}},  // probs v
         {Step(4)}},
        // The forward's probabilities recomputed, then autodiff's backward of the four ops.
        {Op::kCausalAttentionGrad,
         {{Op::kMatMul, {In(0), In(1)}},  // q k^T
          {Op::kScale, {Step(0)}},
          {Op::kCausalMask, {Step(1)}},
          {Op::kSoftmax, {Step(2)}},
          {Op::kMatMul, {In(3), In(2)}},    // dprobs = dy v^T
          {Op::kMatMul, {Step(3), In(3)}},  // dv = probs^T dy
          {Op::kSoftmaxGrad, {Step(3), Step(4)}},
          {Op::kCausalMask, {Step(6)}},
          {Op::kScale, {Step(7)}},           // dscores
          {Op::kMatMul, {Step(8), In(1)}},   // dq = dscores k
          {Op::kMatMul, {Step(8), In(0)}}},  // dk = dscores^T q
         {Step(9), Step(10), Step(5)}},
        // Mixed precision (passes/mixed_precision.h): q, k and v are bf16 and every product
        // reads bf16 operands, as autocast runs attention; the probabilities, dy and the
        // score gradient are rounded once each, where a product reads them.
        {Op::kCausalAttention,
         {{Op::kMatMul, {In(0), In(1)}},  // q k^T
          {Op::kScale, {Step(0)}},
          {Op::kCausalMask, {Step(1)}},
          {Op::kSoftmax, {Step(2)}},
          {Op::kCast, {Step(3)}},
          {Op::kMatMul, {Step(4), In(2)}}},  // probs v
         {Step(5)}},
        {Op::kCausalAttentionGrad,
         {{Op::kMatMul, {In(0), In(1)}},  // q k^T
          {Op::kScale, {Step(0)}},
          {Op::kCausalMask, {Step(1)}},
          {Op::kSoftmax, {Step(2)}},
          {Op::kCast, {In(3)}},               // dy
          {Op::kMatMul, {Step(4), In(2)}},    // dprobs = dy v^T
          {Op::kCast, {Step(3)}},             // probs
          {Op::kMatMul, {Step(6), Step(4)}},  // dv = probs^T dy
          {Op::kSoftmaxGrad, {Step(3), Step(5)}},
          {Op::kCausalMask, {Step(8)}},
          {Op::kScale, {Step(9)}},  // dscores
          {Op::kCast, {Step(10)}},
          {Op::kMatMul, {Step(11), In(1)}},   // dq = dscores k
          {Op::kMatMul, {Step(11), In(0)}}},  // dk = dscores^T q
         {Step(12), Step(13), Step(7)}},
    };
    for (size_t i = 0, n = named->size(); i < n; ++i)
      if ((*named)[i].fused == Op::kCausalAttention ||
          (*named)[i].fused == Op::kCausalAttentionGrad)
        named->push_back(GroupedQuery((*named)[i]));
    return named;
  }();
  return *t;
}

// The hyperparameters an adamw body uses (CheckAdamW then rebuilds the body from them):
// beta1 and beta2 scale the moments, weight decay scales lr, eps is the one constant of a
// parameter's shape, the clipping threshold the numerator of the clipping ratio. `decay`
// lists, per parameter, whether its update decays it (multiplies the parameter itself).
absl::StatusOr<Attrs> AdamWAttrs(const Graph& body) {
  AdamWHyper h;
  h.weight_decay = 0;
  h.clip_norm = 0;
  const std::vector<ValueId> in = body.Inputs();
  if (in.size() < 6) return absl::InvalidArgumentError("adamw: too few operands");
  std::vector<int64_t> decay((in.size() - 2) / 4, 0);
  for (const Node& n : body.nodes()) {
    if (n.op == Op::kMul)
      for (size_t i = 0; i < decay.size(); ++i)
        if (n.inputs[0] == in[2 + 4 * i]) decay[i] = 1;
    if (n.op == Op::kScale && n.inputs[0] == in[4]) h.beta1 = *n.attrs.GetFloat("factor");
    if (n.op == Op::kScale && n.inputs[0] == in[5]) h.beta2 = *n.attrs.GetFloat("factor");
    if (n.op == Op::kScale && n.inputs[0] == in[0]) h.weight_decay = *n.attrs.GetFloat("factor");
    if (n.op == Op::kConstant && body.value(n.outputs[0]).type.rank() > 0)
      h.eps = *n.attrs.GetFloat("value");
    if (n.op == Op::kDiv) {
      const Node& num = body.node(body.value(n.inputs[0]).producer);
      if (num.op == Op::kConstant) h.clip_norm = *num.attrs.GetFloat("value");
    }
  }
  Attrs a = h.ToAttrs();
  a.Set("decay", decay);
  return a;
}

// The attributes the attention templates need beyond their wiring: the transposes of each
// matmul, the mask fills (-inf forward, 0 backward) and one scale shared by every scale op.
absl::StatusOr<Attrs> AttentionAttrs(Op op, const Graph& body, const std::vector<NodeId>& ops) {
  const bool grad = op == Op::kCausalAttentionGrad;
  // (transpose_a, transpose_b) of the matmuls, in body order.
  const std::vector<std::pair<bool, bool>> want_mm =
      grad ? std::vector<std::pair<bool, bool>>{{false, true},
                                                {false, true},
                                                {true, false},
                                                {false, false},
                                                {true, false}}
           : std::vector<std::pair<bool, bool>>{{false, true}, {false, false}};
  const std::vector<bool> want_neg_inf =
      grad ? std::vector<bool>{true, false} : std::vector<bool>{true};
  size_t mm = 0, mask = 0;
  std::optional<double> scale;
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(OpName(op), ": ", why));
  };
  for (NodeId id : ops) {
    const Node& n = body.node(id);
    if (n.op == Op::kMatMul) {
      if (mm >= want_mm.size()) return bad("too many matmuls");
      const auto [ta, tb] = want_mm[mm++];
      if (*n.attrs.GetBool("transpose_a") != ta || *n.attrs.GetBool("transpose_b") != tb)
        return bad(absl::StrCat("matmul ", mm, " must have transpose_a=", ta ? "true" : "false",
                                " transpose_b=", tb ? "true" : "false"));
    } else if (n.op == Op::kCausalMask) {
      if (mask >= want_neg_inf.size()) return bad("too many causal masks");
      const double fill = *n.attrs.GetFloat("fill");
      const bool neg_inf = std::isinf(fill) && fill < 0;
      if (want_neg_inf[mask++] ? !neg_inf : fill != 0.0)
        return bad("the forward mask must fill with -inf and the backward one with 0");
    } else if (n.op == Op::kScale) {
      const double f = *n.attrs.GetFloat("factor");
      if (scale && *scale != f) return bad("every scale in the body must have the same factor");
      scale = f;
    }
  }
  if (!scale || mm != want_mm.size() || mask != want_neg_inf.size())
    return bad("the body is not the attention pattern (matmuls, masks or scale missing)");
  const Value& q = body.value(body.node(ops[0]).inputs[0]);
  if (q.type.rank() < 3 ||
      q.type.shape[q.type.rank() - 2] != body.value(body.node(ops[0]).outputs[0]).type.shape.back())
    return bad("q and k must be [..., T, D] with as many keys as queries (self-attention)");
  Attrs a;
  a.Set("scale", *scale);
  return a;
}

// How many query heads read each key/value head (1: plain multi-head): the grouped-query
// prefix must repeat k and v alike, each head `repeat` times in a row (expand at axis 2 of a
// [B, H_kv, T, D] operand, reshaped to [B, H_kv * repeat, T, D]).
absl::StatusOr<int64_t> KvRepeat(Op op, const Graph& body, const std::vector<NodeId>& ops) {
  if (ops.empty())
    return absl::InvalidArgumentError(absl::StrCat(OpName(op), ": body must start with q k^T"));
  if (body.node(ops[0]).op != Op::kExpand) return 1;
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(OpName(op), ": ", why));
  };
  if (ops.size() < 4) return bad("the key/value repeat is incomplete");
  int64_t repeat = -1;
  for (int i : {0, 2}) {
    const Node& e = body.node(ops[i]);
    const TensorType& x = body.value(e.inputs[0]).type;
    if (x.rank() != 4 || *e.attrs.GetInt("axis") != 2)
      return bad("keys and values are repeated by an expand at axis 2 of [B, H_kv, T, D]");
    const int64_t size = *e.attrs.GetInt("size");
    if (repeat >= 0 && size != repeat) return bad("keys and values are repeated unequally");
    repeat = size;
  }
  return repeat;
}

std::vector<NodeId> BodyOps(const Graph& body) {
  std::vector<NodeId> ids;
  for (NodeId id = 0; id < body.num_nodes(); ++id)
    if (!HasTrait(body.node(id).op, kDecl)) ids.push_back(id);
  return ids;
}

std::string Expected(const Template& t) {
  std::vector<std::string> ops;
  for (const TemplateStep& s : t.steps) ops.push_back(OpName(s.op));
  return absl::StrJoin(ops, ", ");
}

absl::Status CheckTemplate(const Graph& body, const Template& t) {
  std::vector<NodeId> ops = BodyOps(body);
  // A kLoadsBF16 op may read operands in bf16: its body then starts with a widening cast of
  // each such input, which the template reads in its place.
  std::vector<ValueId> inputs = body.Inputs();
  while (HasTrait(t.fused, kLoadsBF16) && ops.size() > t.steps.size()) {
    const Node& c = body.node(ops.front());
    auto it = std::find(inputs.begin(), inputs.end(), c.op == Op::kCast ? c.inputs[0] : -1);
    if (it == inputs.end() || body.value(*it).type.dtype != DType::kBF16 ||
        body.value(c.outputs[0]).type.dtype != DType::kF32)
      break;
    *it = c.outputs[0];
    ops.erase(ops.begin());
  }
  // A kStoresBF16 op may store results rounded to bf16: its body then ends in a cast of
  // each such result, yielded in its place (matched as the template's yield) or after the
  // template's yields (a bf16 copy stored besides the result).
  std::vector<ValueId> outputs = body.outputs();
  std::vector<bool> rounded(outputs.size(), false);
  while (HasTrait(t.fused, kStoresBF16) && ops.size() > t.steps.size()) {
    const Node& c = body.node(ops.back());
    auto it = std::find(outputs.begin(), outputs.end(), c.outputs[0]);
    if (c.op != Op::kCast || body.value(c.outputs[0]).type.dtype != DType::kBF16 ||
        it == outputs.end())
      break;
    for (size_t i = 0; i < outputs.size(); ++i)
      if (outputs[i] == c.outputs[0]) outputs[i] = c.inputs[0], rounded[i] = true;
    ops.pop_back();
  }
  auto mismatch = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(OpName(t.fused), ": body must be {", Expected(t),
                                                   "} wired as the pattern says; ", why));
  };
  if (ops.size() != t.steps.size()) return mismatch(absl::StrCat("it has ", ops.size(), " ops"));
  auto resolve = [&](const Ref& r) -> ValueId {
    if (r.kind == Ref::kInput) return inputs[r.index];
    const Node& n = body.node(ops[r.index]);
    return r.out < static_cast<int>(n.outputs.size()) ? n.outputs[r.out] : -1;
  };
  for (size_t s = 0; s < ops.size(); ++s) {
    const Node& n = body.node(ops[s]);
    const TemplateStep& want = t.steps[s];
    if (n.op != want.op) return mismatch(absl::StrCat("op ", s + 1, " is ", OpName(n.op)));
    std::vector<ValueId> args;
    for (const Ref& r : want.args) args.push_back(resolve(r));
    bool same = n.inputs == args;
    if (!same && HasTrait(n.op, kCommutative) && args.size() == 2)
      same = n.inputs == std::vector<ValueId>{args[1], args[0]};
    if (!same) return mismatch(absl::StrCat("operands of ", PrintNode(body, ops[s])));
  }
  std::vector<ValueId> yields;
  for (const Ref& r : t.yields) yields.push_back(resolve(r));
  if (outputs.size() < yields.size() || !std::equal(yields.begin(), yields.end(), outputs.begin()))
    return mismatch("its yields differ");
  for (size_t i = yields.size(); i < outputs.size(); ++i)
    if (!rounded[i] || std::find(yields.begin(), yields.end(), outputs[i]) == yields.end())
      return mismatch(absl::StrCat("its yield ", i + 1, " is not a bf16 copy of a result"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Attrs> FusedAttrs(Op op, const Graph& body) {
  Attrs a;
  const std::vector<NodeId> ops = BodyOps(body);
  if (op == Op::kAdamW) return AdamWAttrs(body);
  if (op == Op::kCausalAttention || op == Op::kCausalAttentionGrad) {
    ASSIGN_OR_RETURN(const int64_t repeat, KvRepeat(op, body, ops));
    const bool grouped = body.node(ops[0]).op == Op::kExpand;  // KvRepeat checked the prefix
    const std::vector<NodeId> rest(ops.begin() + (grouped ? 4 : 0), ops.end());
    if (rest.empty() || body.node(rest[0]).op != Op::kMatMul)
      return absl::InvalidArgumentError(absl::StrCat(OpName(op), ": body must start with q k^T"));
    ASSIGN_OR_RETURN(Attrs attention, AttentionAttrs(op, body, rest));
    if (grouped) attention.Set("kv_repeat", repeat);
    return attention;
  }
  for (NodeId id : ops) {
    const Node& n = body.node(id);
    if (n.op == Op::kLayerNorm || n.op == Op::kLayerNormGrad)
      a.Set("eps", *n.attrs.GetFloat("eps"));
    if (n.op == Op::kMatMul && (op == Op::kMatMulBias || op == Op::kMatMulAdd))
      for (const char* t : {"transpose_a", "transpose_b"})
        if (*n.attrs.GetBool(t)) a.Set(t, true);
    if (n.op == Op::kScale && (op == Op::kScaleMaskSoftmax || op == Op::kScaleMaskSoftmaxGrad))
      a.Set("scale", *n.attrs.GetFloat("factor"));
    if (n.op == Op::kCausalMask) {
      // The forward mask fills with -inf, its gradient with 0: nothing else is a softmax mask.
      const double fill = *n.attrs.GetFloat("fill");
      const bool forward = op == Op::kScaleMaskSoftmax;
      if (forward ? !(std::isinf(fill) && fill < 0) : fill != 0.0)
        return absl::InvalidArgumentError(absl::StrCat(
            OpName(op), ": the body's causal_mask must fill with ", forward ? "-inf" : "0"));
    }
  }
  return a;
}

// A hash of the expression each value computes, blind to names and to sharing (a CSE'd
// graph and its unshared original hash alike): op, attributes, type and operands' hashes.
std::vector<uint64_t> ExpressionHashes(const Graph& g) {
  std::vector<uint64_t> h(g.num_values(), 0);
  auto mix = [](uint64_t a, uint64_t b) {
    a ^= b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2);
    return a * 0xFF51AFD7ED558CCDull;
  };
  auto str = [&](uint64_t a, const std::string& s) {
    for (unsigned char ch : s) a = mix(a, ch);
    return a;
  };
  int input = 0;
  for (const Node& n : g.nodes()) {
    uint64_t base = str(static_cast<uint64_t>(n.op) + 1, AttrsToString(n.attrs));
    if (HasTrait(n.op, kDecl)) base = mix(base, 1000 + input++);
    for (ValueId v : n.inputs) base = mix(base, h[v]);
    for (size_t i = 0; i < n.outputs.size(); ++i)
      h[n.outputs[i]] = str(mix(base, i), TypeToString(g.value(n.outputs[i]).type));
  }
  return h;
}

// The fused adamw op: its operands are (lr, step, then p, grad, m, v per parameter), its
// results (p, m, v per parameter, then the norm), and its body must compute exactly what
// ir/adamw_update.h emits for them with the node's hyperparameters.
absl::Status CheckAdamW(const Graph& g, const Node& n) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("adamw: ", why));
  };
  const size_t k = n.inputs.size() >= 2 ? (n.inputs.size() - 2) / 4 : 0;
  if (k == 0 || n.inputs.size() != 2 + 4 * k)
    return bad("operands must be lr, step, then (p, grad, m, v) for each parameter");
  if (n.outputs.size() != 3 * k + 1)
    return bad(absl::StrCat("results must be (p, m, v) for each of the ", k,
                            " parameters, then the gradient norm"));
  Graph want("adamw");
  Emitter e(want);
  std::vector<ValueId> ins;
  for (ValueId v : n.inputs) ins.push_back(want.AddInput(g.value(v).name, g.value(v).type));
  const std::vector<int64_t> decay = n.attrs.GetInts("decay").value_or(std::vector<int64_t>());
  if (decay.size() != k)
    return bad(absl::StrCat("decay=[...] must say for each of the ", k,
                            " parameters whether it decays (1) or not (0)"));
  std::vector<AdamWSlot> slots;
  for (size_t i = 0; i < k; ++i) {
    const ValueId* s = &ins[2 + 4 * i];
    for (int j = 1; j < 4; ++j)
      if (want.value(s[j]).type != want.value(s[0]).type)
        return bad(absl::StrCat("parameter ", i, "'s operands do not all have its type"));
    slots.push_back({s[0], s[1], s[2], s[3], decay[i] != 0});
  }
  for (ValueId v : {ins[0], ins[1]})
    if (want.value(v).type != F32({})) return bad("lr and step must be f32[] scalars");
  const AdamWResult r = EmitAdamWUpdate(e, ins[0], ins[1], slots, AdamWHyper::FromAttrs(n.attrs));
  std::vector<ValueId> yields;
  for (size_t i = 0; i < k; ++i) yields.insert(yields.end(), {r.p[i], r.m[i], r.v[i]});
  yields.push_back(r.grad_norm);
  const std::vector<uint64_t> hw = ExpressionHashes(want), hb = ExpressionHashes(*n.body);
  for (size_t i = 0; i < yields.size(); ++i)
    if (hw[yields[i]] != hb[n.body->outputs()[i]])
      return bad(absl::StrCat("result ", i, " (%", g.value(n.outputs[i]).name,
                              ") is not AdamW's update of its operands with ",
                              AttrsToString(n.attrs)));
  return absl::OkStatus();
}

absl::Status CheckFusedBody(const Graph& g, const Node& n) {
  const std::string op = OpName(n.op);
  if (!n.body)
    return absl::InvalidArgumentError(absl::StrCat(op, ": a fused op needs a body { ... yield }"));
  const Graph& body = *n.body;
  const std::vector<ValueId> inputs = body.Inputs();
  if (inputs.size() != n.inputs.size() ||
      static_cast<int>(inputs.size()) != body.num_nodes() - static_cast<int>(BodyOps(body).size()))
    return absl::InvalidArgumentError(absl::StrCat(op, ": body declares ", inputs.size(),
                                                   " inputs for ", n.inputs.size(), " operands"));
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] != static_cast<ValueId>(i))
      return absl::InvalidArgumentError(absl::StrCat(op, ": body inputs must come first"));
    if (body.value(inputs[i]).type != g.value(n.inputs[i]).type)
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": body input %", body.value(inputs[i]).name, " is ",
                       TypeToString(body.value(inputs[i]).type), " but operand ", i, " is ",
                       TypeToString(g.value(n.inputs[i]).type)));
  }
  if (body.outputs().size() != n.outputs.size())
    return absl::InvalidArgumentError(absl::StrCat(op, ": body yields ", body.outputs().size(),
                                                   " values for ", n.outputs.size(), " results"));
  for (size_t i = 0; i < n.outputs.size(); ++i)
    if (body.value(body.outputs()[i]).type != g.value(n.outputs[i]).type)
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": result %", g.value(n.outputs[i]).name, " is declared ",
                       TypeToString(g.value(n.outputs[i]).type), " but the body yields ",
                       TypeToString(body.value(body.outputs()[i]).type)));
  for (NodeId id : BodyOps(body))
    if (HasTrait(body.node(id).op, kFused))
      return absl::InvalidArgumentError(absl::StrCat(op, ": fused bodies do not nest"));
  if (n.op == Op::kFusion) return LayOutFusion(body).status();
  if (n.op == Op::kAdamW) return CheckAdamW(g, n);
  // The first template's mismatch is the error when none matches.
  std::optional<absl::Status> matched;
  for (const Template& t : Templates()) {
    if (t.fused != n.op) continue;
    absl::Status s = CheckTemplate(body, t);
    if (!matched || s.ok()) matched = s;
    if (s.ok()) break;
  }
  if (!matched) return absl::InternalError(absl::StrCat(op, ": no template"));
  RETURN_IF_ERROR(*matched);
  ASSIGN_OR_RETURN(Attrs want, FusedAttrs(n.op, body));
  if (!(want == n.attrs))
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": attributes must be '", AttrsToString(want), "' as the body implies"));
  return absl::OkStatus();
}

}  // namespace gptc::ir
