#include "passes/mixed_precision.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ir/fusion_layout.h"
#include "ir/shape_inference.h"
#include "ir/status_macros.h"
#include "ir/verifier.h"
#include "passes/dce.h"

namespace gptc::passes {

using ir::Op;
using ir::ValueId;

namespace {

// The body of fused node `id` of `out`, its inputs declared with the types and names of the
// node's operands in `out` (a bf16 operand: the body's matmul then reads it as it comes; the
// text form names a body's inputs by the fused node's operands).
std::shared_ptr<const ir::Graph> MatchBody(const ir::Graph& out, ir::NodeId id,
                                           const std::shared_ptr<const ir::Graph>& body) {
  if (!body) return body;
  const ir::Node& n = out.node(id);
  bool same = true;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const ir::Value& b = body->value(body->node(static_cast<ir::NodeId>(i)).outputs[0]);
    same = same && b.name == out.value(n.inputs[i]).name && b.type == out.value(n.inputs[i]).type;
  }
  if (same) return body;
  auto b = std::make_shared<ir::Graph>(*body);
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const ValueId v = b->node(static_cast<ir::NodeId>(i)).outputs[0];
    b->mutable_value(v).type = out.value(n.inputs[i]).type;
    b->RenameValue(v, out.value(n.inputs[i]).name);
  }
  return b;
}

bool MovesData(Op op) { return op == Op::kSlice || op == Op::kReshape || op == Op::kTranspose; }

bool IsAttention(Op op) { return op == Op::kCausalAttention || op == Op::kCausalAttentionGrad; }

// The body of fused node `id` of `out` (whose operands are now bf16 where a product reads
// them) with every f32 operand of a matmul inside rounded to bf16 once, right before the
// first product that reads it: the attention templates' mixed-precision form (ir/fused_ops.cc).
absl::StatusOr<std::shared_ptr<const ir::Graph>> Bf16ProductsBody(const ir::Graph& out,
                                                                  ir::NodeId id,
                                                                  const ir::Graph& body) {
  auto b = std::make_shared<ir::Graph>(body.name());
  std::vector<ValueId> m(body.num_values(), -1);
  absl::flat_hash_map<ValueId, ValueId> rounded;  // f32 value of b -> its bf16 copy
  const ir::Node& fused = out.node(id);
  size_t input = 0;
  for (const ir::Node& n : body.nodes()) {
    if (n.op == Op::kInput) {
      if (input >= fused.inputs.size()) return absl::InternalError("attention body: inputs");
      const ir::Value& operand = out.value(fused.inputs[input++]);
      m[n.outputs[0]] = b->AddInput(operand.name, operand.type);
      continue;
    }
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs) ins.push_back(m[v]);
    if (n.op == Op::kMatMul)
      for (ValueId& v : ins) {
        if (b->value(v).type.dtype != ir::DType::kF32) continue;
        auto it = rounded.find(v);
        if (it == rounded.end()) {
          ir::TensorType t = b->value(v).type;
          t.dtype = ir::DType::kBF16;
          const ir::NodeId c = b->AddNode(Op::kCast, {v}, {{"dtype", std::string("bf16")}},
                                          {{b->value(v).name + ".bf16", t}});
          it = rounded.emplace(v, b->node(c).outputs[0]).first;
        }
        v = it->second;
      }
    std::vector<ir::TensorType> types;
    for (ValueId v : ins) types.push_back(b->value(v).type);
    ASSIGN_OR_RETURN(std::vector<ir::TensorType> result, ir::InferTypes(n.op, types, n.attrs));
    std::vector<std::pair<std::string, ir::TensorType>> outs;
    for (size_t i = 0; i < n.outputs.size(); ++i)
      outs.emplace_back(body.value(n.outputs[i]).name, result[i]);
    const ir::NodeId c = b->AddNode(n.op, std::move(ins), n.attrs, outs);
    for (size_t i = 0; i < n.outputs.size(); ++i) m[n.outputs[i]] = b->node(c).outputs[i];
  }
  std::vector<ValueId> yields;
  for (ValueId v : body.outputs()) yields.push_back(m[v]);
  b->set_outputs(std::move(yields));
  return std::shared_ptr<const ir::Graph>(std::move(b));
}

// Names not yet taken in a graph being rewritten: `base`, else base_1, base_2, ...
class UniqueNames {
 public:
  explicit UniqueNames(const ir::Graph& g) {
    for (const ir::Value& v : g.values()) taken_.insert(v.name);
  }
  std::string operator()(const std::string& base) {
    std::string name = base;
    for (int i = 1; taken_.count(name); ++i) name = absl::StrCat(base, "_", i);
    taken_.insert(name);
    return name;
  }

 private:
  absl::flat_hash_set<std::string> taken_;
};

// Node n of g appended to `out` with operands `ins` (its body matched to them); its results
// mapped in `map`. Returns the new node.
ir::NodeId CopyNode(const ir::Graph& g, const ir::Node& n, std::vector<ValueId> ins, ir::Graph& out,
                    std::vector<ValueId>& map) {
  std::vector<std::pair<std::string, ir::TensorType>> outs;
  for (ValueId v : n.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
  const ir::NodeId id = out.AddNode(n.op, std::move(ins), n.attrs, outs);
  out.SetBody(id, MatchBody(out, id, n.body));
  for (size_t i = 0; i < n.outputs.size(); ++i) map[n.outputs[i]] = out.node(id).outputs[i];
  return id;
}

// `out` with g's outputs and updates, through `map`, verified.
absl::StatusOr<ir::Graph> Finish(const ir::Graph& g, ir::Graph out,
                                 const std::vector<ValueId>& map) {
  for (ValueId v : g.outputs()) out.AddOutput(map[v]);
  for (const ir::Graph::Update& u : g.updates()) out.AddUpdate(map[u.target], map[u.value]);
  RETURN_IF_ERROR(ir::Verify(out));
  return out;
}

}  // namespace

absl::StatusOr<ir::Graph> CastGemmOperands(const ir::Graph& g, ir::DType to) {
  ASSIGN_OR_RETURN(ir::Graph cast, CastEveryGemmOperand(g, to));
  ASSIGN_OR_RETURN(ir::Graph saved, KeepSavedActivationsIn(cast, to));
  // The f32 views the GEMMs read before (now of the bf16 copies) would count as readers.
  ASSIGN_OR_RETURN(ir::Graph live, DeadCodeElimination(saved));
  ASSIGN_OR_RETURN(ir::Graph wrapped, WrapElementwiseNextToCasts(live));
  ASSIGN_OR_RETURN(ir::Graph narrow, NarrowGemmResults(wrapped));
  ASSIGN_OR_RETURN(ir::Graph stored, StoreCastsInProducers(narrow));
  return LoadCastsInConsumers(stored);
}

absl::StatusOr<ir::Graph> CastEveryGemmOperand(const ir::Graph& g, ir::DType to) {
  if (to == ir::DType::kF32) return g;
  if (to != ir::DType::kBF16)
    return absl::InvalidArgumentError(
        absl::StrCat("mixed precision: GEMM operands cannot be ", ir::DTypeName(to)));
  UniqueNames unique(g);
  ir::Graph out(g.name());
  std::vector<ValueId> map(g.num_values(), -1);
  absl::flat_hash_map<ValueId, ValueId> cast;  // old f32 value -> its bf16 copy in `out`
  // The bf16 copy of v. A reshape (the backward pass's [B*T, C] view of an activation or a
  // gradient) is taken of the source's copy, so one cast serves both shapes.
  std::function<ValueId(ValueId)> cast_of = [&](ValueId v) {
    auto it = cast.find(v);
    if (it != cast.end()) return it->second;
    const std::string name = unique(g.value(v).name + ".bf16");
    ir::TensorType t = g.value(v).type;
    t.dtype = to;
    const ir::Node& p = g.node(g.value(v).producer);
    ir::NodeId id;
    if (p.op == Op::kReshape) {
      const ValueId src = cast_of(p.inputs[0]);
      id = out.AddNode(Op::kReshape, {src}, p.attrs, {{name, t}});
    } else {
      id = out.AddNode(Op::kCast, {map[v]}, {{"dtype", std::string(ir::DTypeName(to))}},
                       {{name, t}});
    }
    return cast[v] = out.node(id).outputs[0];
  };
  // The bf16 copy of an attention operand: q, k and v are views (slice, reshape, transpose)
  // of the qkv projection; the views are taken again of its one bf16 copy.
  std::function<ValueId(ValueId)> view_of = [&](ValueId v) {
    auto it = cast.find(v);
    if (it != cast.end()) return it->second;
    const ir::Node& p = g.node(g.value(v).producer);
    if (!MovesData(p.op)) return cast_of(v);
    ir::TensorType t = g.value(v).type;
    t.dtype = to;
    const ValueId src = view_of(p.inputs[0]);
    const ir::NodeId id =
        out.AddNode(p.op, {src}, p.attrs, {{unique(g.value(v).name + ".bf16"), t}});
    return cast[v] = out.node(id).outputs[0];
  };
  for (const ir::Node& n : g.nodes()) {
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs) ins.push_back(map[v]);
    if (n.op == Op::kMatMul || n.op == Op::kMatMulBias || n.op == Op::kMatMulAdd)
      for (int i : {0, 1})
        if (g.value(n.inputs[i]).type.dtype == ir::DType::kF32) ins[i] = cast_of(n.inputs[i]);
    if (IsAttention(n.op)) {
      for (int i : {0, 1, 2})
        if (g.value(n.inputs[i]).type.dtype == ir::DType::kF32) ins[i] = view_of(n.inputs[i]);
      std::vector<std::pair<std::string, ir::TensorType>> outs;
      for (ValueId v : n.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
      const ir::NodeId id = out.AddNode(n.op, std::move(ins), n.attrs, outs);
      ASSIGN_OR_RETURN(std::shared_ptr<const ir::Graph> body, Bf16ProductsBody(out, id, *n.body));
      out.SetBody(id, std::move(body));
      for (size_t i = 0; i < n.outputs.size(); ++i) map[n.outputs[i]] = out.node(id).outputs[i];
      continue;
    }
    CopyNode(g, n, std::move(ins), out, map);
  }
  return Finish(g, std::move(out), map);
}

namespace {

// Backward ops whose saved operands autocast also stores in bf16: they are widened back to
// f32 for them. (The attention ops read their bf16 copies directly: CastEveryGemmOperand.)
bool ReadsSavedInBF16(Op op) {
  return op == Op::kBiasGeluGrad || op == Op::kBiasGeluErfGrad || op == Op::kGeluGrad ||
         op == Op::kGeluErfGrad;
}

}  // namespace

absl::StatusOr<ir::Graph> KeepSavedActivationsIn(const ir::Graph& g, ir::DType to) {
  if (to == ir::DType::kF32 || g.outputs().empty()) return g;
  // The forward pass ends at the loss, the step's first output.
  const ir::NodeId loss = g.value(g.outputs()[0]).producer;
  // The saved roots: the memory the backward ops' operands are views of (q, k and v are
  // views of the qkv projection), made before the loss, f32, not a declaration.
  auto root_of = [&](ValueId v) {
    while (MovesData(g.node(g.value(v).producer).op)) v = g.node(g.value(v).producer).inputs[0];
    return v;
  };
  std::vector<bool> saved(g.num_values(), false);
  bool any = false;
  for (ir::NodeId id = loss + 1; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (!ReadsSavedInBF16(n.op)) continue;
    for (ValueId v : n.inputs) {
      const ValueId r = root_of(v);
      const ir::Node& p = g.node(g.value(r).producer);
      if (g.value(r).producer < loss && !ir::HasTrait(p.op, ir::kDecl) &&
          g.value(r).type.dtype == ir::DType::kF32)
        saved[r] = any = true;
    }
  }
  if (!any) return g;
  // GELU outputs recomputed for the backward pass instead of kept: the bf16 copy of a
  // bias_gelu result (the MLP projection's input) whose pre-activation is saved anyway. Its
  // backward readers (the projection's weight gradient, through a reshape) get
  // cast(bias_gelu(restored pre-activation, bias)), one elementwise kernel more per layer,
  // and the forward copy dies after the forward projection (llm.c's -r 1).
  std::vector<bool> recompute(g.num_values(), false);
  for (ir::NodeId id = loss + 1; id < g.num_nodes(); ++id)
    for (ValueId v : g.node(id).inputs) {
      const ValueId c = root_of(v);
      const ir::Node& cast = g.node(g.value(c).producer);
      if (cast.op != Op::kCast || g.value(c).producer > loss) continue;
      const ir::Node& gelu = g.node(g.value(cast.inputs[0]).producer);
      if ((gelu.op == Op::kBiasGelu || gelu.op == Op::kBiasGeluErf) &&
          saved[root_of(gelu.inputs[0])])
        recompute[c] = true;
    }
  UniqueNames unique(g);
  ir::Graph out(g.name());
  std::vector<ValueId> map(g.num_values(), -1);
  std::vector<ValueId> stored(g.num_values(), -1);    // saved root -> its bf16 copy
  std::vector<ValueId> restored(g.num_values(), -1);  // root or view of it -> f32 from the copy
  const ir::Attrs narrow = {{"dtype", std::string(ir::DTypeName(to))}};
  const ir::Attrs widen = {{"dtype", std::string("f32")}};
  // The backward pass's f32 copy of v (a saved root, or a view of one: the view is taken
  // again of the restored root), made just before its first reader.
  std::function<ValueId(ValueId)> restore = [&](ValueId v) {
    if (restored[v] >= 0) return restored[v];
    const ir::Value& val = g.value(v);
    ir::NodeId id;
    if (saved[v]) {
      id = out.AddNode(Op::kCast, {stored[v]}, widen, {{unique(val.name + ".restored"), val.type}});
    } else {
      const ir::Node& p = g.node(val.producer);
      id = out.AddNode(p.op, {restore(p.inputs[0])}, p.attrs,
                       {{unique(val.name + ".restored"), val.type}});
    }
    return restored[v] = out.node(id).outputs[0];
  };
  // The backward pass's copy of v, a recomputed GELU copy or a view of one.
  std::vector<ValueId> recomputed(g.num_values(), -1);
  std::function<ValueId(ValueId)> recompute_of = [&](ValueId v) {
    if (recomputed[v] >= 0) return recomputed[v];
    const ir::Value& val = g.value(v);
    const ir::Node& p = g.node(val.producer);
    ir::NodeId id;
    if (recompute[v]) {
      const ir::Value& x = g.value(p.inputs[0]);
      const ir::Node& gelu = g.node(x.producer);
      const ir::NodeId gid = out.AddNode(gelu.op, {restore(gelu.inputs[0]), map[gelu.inputs[1]]},
                                         gelu.attrs, {{unique(x.name + ".recomputed"), x.type}});
      out.SetBody(gid, MatchBody(out, gid, gelu.body));
      id = out.AddNode(Op::kCast, {out.node(gid).outputs[0]}, p.attrs,
                       {{unique(val.name + ".recomputed"), val.type}});
    } else {
      id = out.AddNode(p.op, {recompute_of(p.inputs[0])}, p.attrs,
                       {{unique(val.name + ".recomputed"), val.type}});
    }
    return recomputed[v] = out.node(id).outputs[0];
  };
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs)
      ins.push_back(id > loss && recompute[root_of(v)]                         ? recompute_of(v)
                    : id > loss && ReadsSavedInBF16(n.op) && saved[root_of(v)] ? restore(v)
                                                                               : map[v]);
    CopyNode(g, n, std::move(ins), out, map);
    for (const ValueId v : n.outputs) {
      if (saved[v]) {
        ir::TensorType t = g.value(v).type;
        t.dtype = to;
        const ir::NodeId c =
            out.AddNode(Op::kCast, {map[v]}, narrow, {{unique(g.value(v).name + ".saved"), t}});
        stored[v] = out.node(c).outputs[0];
      }
    }
  }
  return Finish(g, std::move(out), map);
}

namespace {

bool IsCastTo(const ir::Graph& g, const ir::Node& n, ir::DType to) {
  return n.op == Op::kCast && g.value(n.outputs[0]).type.dtype == to;
}

// How a fused node stores each result: as it is, rounded to bf16 in its place, or also as
// a bf16 copy (an extra result after the op's own).
enum class Store { kAsIs, kNarrow, kCopy };

// `body` with each result stored as `how` says: a cast to bf16 at its end, yielded in the
// result's place (kNarrow) or after all of them (kCopy).
std::shared_ptr<const ir::Graph> WithStoredCasts(const ir::Graph& body,
                                                 const std::vector<Store>& how) {
  auto b = std::make_shared<ir::Graph>(body);
  UniqueNames unique(*b);
  std::vector<ValueId> yields = b->outputs();
  const size_t n = yields.size();
  for (size_t i = 0; i < n; ++i) {
    if (how[i] == Store::kAsIs) continue;
    ir::TensorType t = b->value(yields[i]).type;
    t.dtype = ir::DType::kBF16;
    const ir::NodeId c = b->AddNode(Op::kCast, {yields[i]}, {{"dtype", std::string("bf16")}},
                                    {{unique(b->value(yields[i]).name + ".bf16"), t}});
    if (how[i] == Store::kNarrow) {
      yields[i] = b->node(c).outputs[0];
    } else {
      yields.push_back(b->node(c).outputs[0]);
    }
  }
  b->set_outputs(std::move(yields));
  return b;
}

// `body` with input i, for each i in `narrow`, declared bf16 and widened to f32 by a cast
// at its start; the rest reads the widened value.
std::shared_ptr<const ir::Graph> WithLoadedCasts(const ir::Graph& body,
                                                 const std::vector<bool>& narrow) {
  auto b = std::make_shared<ir::Graph>(body.name());
  UniqueNames unique(body);
  std::vector<ValueId> m(body.num_values(), -1);
  const std::vector<ValueId> inputs = body.Inputs();
  // A widened input keeps its name for the cast (the rest reads the same name); the input
  // itself is named after its operand by MatchBody.
  for (size_t i = 0; i < inputs.size(); ++i) {
    ir::TensorType t = body.value(inputs[i]).type;
    if (narrow[i]) t.dtype = ir::DType::kBF16;
    const std::string& name = body.value(inputs[i]).name;
    m[inputs[i]] = b->AddInput(narrow[i] ? unique(name + ".bf16") : name, t);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!narrow[i]) continue;
    const ir::Value& v = body.value(inputs[i]);
    const ir::NodeId c =
        b->AddNode(Op::kCast, {m[inputs[i]]}, {{"dtype", std::string("f32")}}, {{v.name, v.type}});
    m[inputs[i]] = b->node(c).outputs[0];
  }
  for (const ir::Node& n : body.nodes()) {
    if (n.op == Op::kInput) continue;
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs) ins.push_back(m[v]);
    std::vector<std::pair<std::string, ir::TensorType>> outs;
    for (ValueId v : n.outputs) outs.emplace_back(body.value(v).name, body.value(v).type);
    const ir::NodeId id = b->AddNode(n.op, std::move(ins), n.attrs, outs);
    for (size_t i = 0; i < n.outputs.size(); ++i) m[n.outputs[i]] = b->node(id).outputs[i];
  }
  std::vector<ValueId> yields;
  for (ValueId v : body.outputs()) yields.push_back(m[v]);
  b->set_outputs(std::move(yields));
  return b;
}

// Which nodes read each value, and whether the graph returns or updates it.
struct Readers {
  explicit Readers(const ir::Graph& g) : of(g.num_values()), escapes(g.num_values(), false) {
    for (ir::NodeId id = 0; id < g.num_nodes(); ++id)
      for (ValueId v : g.node(id).inputs) of[v].push_back(id);
    for (ValueId v : g.outputs()) escapes[v] = true;
    for (const ir::Graph::Update& u : g.updates()) escapes[u.target] = escapes[u.value] = true;
  }
  std::vector<std::vector<ir::NodeId>> of;
  std::vector<bool> escapes;
};

}  // namespace

absl::StatusOr<ir::Graph> LoadCastsInConsumers(const ir::Graph& g) {
  const Readers readers(g);
  // Widening casts whose every reader can widen the bf16 operand itself.
  std::vector<bool> loaded(g.num_nodes(), false);
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    const ValueId v = n.outputs.empty() ? -1 : n.outputs[0];
    if (!IsCastTo(g, n, ir::DType::kF32) || readers.escapes[v] || readers.of[v].empty() ||
        g.value(n.inputs[0]).type.dtype != ir::DType::kBF16)
      continue;
    bool all = true;
    for (ir::NodeId r : readers.of[v])
      all = all && ir::HasTrait(g.node(r).op, ir::kLoadsBF16) && g.node(r).body;
    loaded[id] = all;
  }
  ir::Graph out(g.name());
  std::vector<ValueId> map(g.num_values(), -1);
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (loaded[id]) continue;  // its readers read its operand
    std::vector<ValueId> ins;
    std::vector<bool> narrow(n.inputs.size(), false);
    bool any = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const ir::NodeId p = g.value(n.inputs[i]).producer;
      any |= narrow[i] = loaded[p];
      ins.push_back(map[narrow[i] ? g.node(p).inputs[0] : n.inputs[i]]);
    }
    if (!any) {
      CopyNode(g, n, std::move(ins), out, map);
      continue;
    }
    std::vector<std::pair<std::string, ir::TensorType>> outs;
    for (ValueId v : n.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
    const ir::NodeId nid = out.AddNode(n.op, std::move(ins), n.attrs, outs);
    out.SetBody(nid, MatchBody(out, nid, WithLoadedCasts(*n.body, narrow)));
    for (size_t i = 0; i < n.outputs.size(); ++i) map[n.outputs[i]] = out.node(nid).outputs[i];
  }
  return Finish(g, std::move(out), map);
}

absl::StatusOr<ir::Graph> StoreCastsInProducers(const ir::Graph& g) {
  const Readers uses(g);
  const std::vector<std::vector<ir::NodeId>>& readers = uses.of;
  auto store = [&](ValueId v) {
    if (g.value(v).type.dtype != ir::DType::kF32) return Store::kAsIs;
    int casts = 0;
    for (ir::NodeId r : readers[v]) casts += IsCastTo(g, g.node(r), ir::DType::kBF16);
    if (casts == 0) return Store::kAsIs;
    // Others read the f32 result too, or the graph returns or updates it: a copy besides.
    if (uses.escapes[v] || casts < static_cast<int>(readers[v].size())) return Store::kCopy;
    return Store::kNarrow;
  };
  ir::Graph out(g.name());
  std::vector<ValueId> map(g.num_values(), -1);
  std::vector<bool> absorbed(g.num_nodes(), false);
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (absorbed[id]) continue;
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs) ins.push_back(map[v]);
    std::vector<Store> how(n.outputs.size(), Store::kAsIs);
    bool any = false;
    if (ir::HasTrait(n.op, ir::kStoresBF16) && n.body)
      for (size_t i = 0; i < n.outputs.size(); ++i) {
        how[i] = store(n.outputs[i]);
        // A copy makes a one-result kernel a multi-result one, which the memory plan never
        // writes over an operand (passes/plan_alias.cc): the bias-GELU backward would lose
        // its in-place result and raise the step's peak (baby bf16 +3.4 MiB). It keeps its
        // cast kernel.
        if (how[i] == Store::kCopy && n.outputs.size() == 1) how[i] = Store::kAsIs;
        any |= how[i] != Store::kAsIs;
      }
    std::shared_ptr<const ir::Graph> body = any ? WithStoredCasts(*n.body, how) : nullptr;
    // A generic fusion takes the casts only where its loop nest still holds them (not after
    // a reduction, which must end the body).
    if (any && n.op == Op::kFusion && !ir::LayOutFusion(*body).ok()) any = false;
    if (!any) {
      CopyNode(g, n, std::move(ins), out, map);
      continue;
    }
    // A stored result takes its (first) cast's name; the casts of it read that result.
    auto first_cast = [&](ValueId v) {
      for (ir::NodeId r : readers[v])
        if (IsCastTo(g, g.node(r), ir::DType::kBF16)) return g.node(r).outputs[0];
      return ValueId{-1};
    };
    std::vector<std::pair<std::string, ir::TensorType>> outs;
    std::vector<ValueId> copied;  // the f32 result of each copy, in order
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      const ValueId v = n.outputs[i];
      const ValueId c = how[i] == Store::kNarrow ? first_cast(v) : v;
      outs.emplace_back(g.value(c).name, g.value(c).type);
      if (how[i] == Store::kCopy) copied.push_back(v);
    }
    for (ValueId v : copied)
      outs.emplace_back(g.value(first_cast(v)).name, g.value(first_cast(v)).type);
    const ir::NodeId nid = out.AddNode(n.op, std::move(ins), n.attrs, outs);
    out.SetBody(nid, MatchBody(out, nid, body));
    const std::vector<ValueId>& results = out.node(nid).outputs;
    size_t next_copy = n.outputs.size();
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      const ValueId v = n.outputs[i];
      map[v] = results[i];
      if (how[i] == Store::kAsIs) continue;
      const ValueId stored = how[i] == Store::kNarrow ? results[i] : results[next_copy++];
      for (ir::NodeId r : readers[v]) {
        if (!IsCastTo(g, g.node(r), ir::DType::kBF16)) continue;
        absorbed[r] = true;
        map[g.node(r).outputs[0]] = stored;
      }
    }
  }
  return Finish(g, std::move(out), map);
}

absl::StatusOr<ir::Graph> NarrowGemmResults(const ir::Graph& g) {
  const Readers uses(g);
  // A GEMM of bf16 operands whose f32 result is cast to bf16, and otherwise read only by
  // kernels that widen a bf16 operand as they read it (kLoadsBF16); the graph neither
  // returns nor updates it. Without a cast nothing asked for the value in bf16, and a
  // widening reader may be writing its f32 result over it (the GELU backward over its
  // output's gradient), which a bf16 operand of half the size would prevent.
  auto narrows = [&](const ir::Node& n) {
    if (n.op != Op::kMatMul) return false;
    const ValueId v = n.outputs[0];
    if (g.value(n.inputs[0]).type.dtype != ir::DType::kBF16 ||
        g.value(n.inputs[1]).type.dtype != ir::DType::kBF16 ||
        g.value(v).type.dtype != ir::DType::kF32 || uses.escapes[v])
      return false;
    bool cast = false;
    for (ir::NodeId r : uses.of[v]) {
      const ir::Node& reader = g.node(r);
      if (IsCastTo(g, reader, ir::DType::kBF16)) {
        cast = true;
      } else if (!(ir::HasTrait(reader.op, ir::kLoadsBF16) && reader.body)) {
        return false;
      }
    }
    return cast;
  };
  UniqueNames unique(g);
  ir::Graph out(g.name());
  std::vector<ValueId> map(g.num_values(), -1);
  std::vector<bool> absorbed(g.num_nodes(), false);
  const ir::Attrs widen = {{"dtype", std::string("f32")}};
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (absorbed[id]) continue;
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs) ins.push_back(map[v]);
    if (!narrows(n)) {
      CopyNode(g, n, std::move(ins), out, map);
      continue;
    }
    // The bf16 result takes its first cast's name; the casts' readers read it, and the
    // widening readers a widening cast of it under the f32 result's name, which
    // LoadCastsInConsumers then moves into them.
    const ValueId v = n.outputs[0];
    std::vector<ir::NodeId> casts;
    bool widened = false;
    for (ir::NodeId r : uses.of[v]) {
      if (IsCastTo(g, g.node(r), ir::DType::kBF16)) {
        casts.push_back(r);
      } else {
        widened = true;
      }
    }
    ir::TensorType t = g.value(v).type;
    t.dtype = ir::DType::kBF16;
    const std::string name = g.value(g.node(casts[0]).outputs[0]).name;
    ir::Attrs attrs = n.attrs;
    attrs.Set("dtype", std::string("bf16"));
    const ir::NodeId nid = out.AddNode(Op::kMatMul, std::move(ins), attrs, {{name, t}});
    const ValueId stored = out.node(nid).outputs[0];
    for (ir::NodeId r : casts) {
      absorbed[r] = true;
      map[g.node(r).outputs[0]] = stored;
    }
    map[v] = widened ? out.node(out.AddNode(Op::kCast, {stored}, widen,
                                            {{g.value(v).name, g.value(v).type}}))
                           .outputs[0]
                     : stored;
  }
  return Finish(g, std::move(out), map);
}

absl::StatusOr<ir::Graph> WrapElementwiseNextToCasts(const ir::Graph& g) {
  const Readers uses(g);
  auto next_to_cast = [&](const ir::Node& n) {
    if (n.body || n.op == Op::kCast || !ir::HasTrait(n.op, ir::kElementwise) ||
        n.outputs.size() != 1)
      return false;
    for (ir::NodeId r : uses.of[n.outputs[0]])
      if (IsCastTo(g, g.node(r), ir::DType::kBF16)) return true;
    for (ValueId v : n.inputs) {
      const ir::Node& p = g.node(g.value(v).producer);
      if (IsCastTo(g, p, ir::DType::kF32) && g.value(p.inputs[0]).type.dtype == ir::DType::kBF16)
        return true;
    }
    return false;
  };
  ir::Graph out(g.name());
  std::vector<ValueId> map(g.num_values(), -1);
  for (const ir::Node& n : g.nodes()) {
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs) ins.push_back(map[v]);
    if (!next_to_cast(n)) {
      CopyNode(g, n, std::move(ins), out, map);
      continue;
    }
    // The body reads each distinct operand once, named as the node's operand.
    std::vector<ValueId> operands;
    auto body = std::make_shared<ir::Graph>("fusion");
    std::vector<ValueId> body_ins;
    for (ValueId v : ins) {
      auto it = std::find(operands.begin(), operands.end(), v);
      if (it == operands.end()) {
        operands.push_back(v);
        body_ins.push_back(body->AddInput(out.value(v).name, out.value(v).type));
      } else {
        body_ins.push_back(body_ins[it - operands.begin()]);
      }
    }
    const ir::Value& r = g.value(n.outputs[0]);
    const ir::NodeId op = body->AddNode(n.op, body_ins, n.attrs, {{r.name, r.type}});
    body->set_outputs({body->node(op).outputs[0]});
    const ir::NodeId id =
        out.AddNode(Op::kFusion, std::move(operands), {{"pattern", std::string("elementwise")}},
                    {{r.name, r.type}});
    out.SetBody(id, std::move(body));
    map[n.outputs[0]] = out.node(id).outputs[0];
  }
  return Finish(g, std::move(out), map);
}

}  // namespace gptc::passes
