#include "passes/mixed_precision.h"

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ir/shape_inference.h"
#include "ir/status_macros.h"
#include "passes/dce.h"
#include "passes/graph_rewrite.h"

namespace gptc::passes {

using ir::Op;
using ir::ValueId;
using namespace rewrite;

namespace {

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
}  // namespace

absl::StatusOr<ir::Graph> CastGemmOperands(const ir::Graph& g, ir::DType to) {
  ASSIGN_OR_RETURN(ir::Graph cast, CastEveryGemmOperand(g, to));
  ASSIGN_OR_RETURN(ir::Graph saved, KeepSavedActivationsIn(cast, to));
  // The f32 views the GEMMs read before (now of the bf16 copies) would count as readers.
  ASSIGN_OR_RETURN(ir::Graph live, DeadCodeElimination(saved));
  ASSIGN_OR_RETURN(ir::Graph wrapped, WrapElementwiseNextToCasts(live));
  ASSIGN_OR_RETURN(ir::Graph narrow, NarrowGemmResults(wrapped));
  ASSIGN_OR_RETURN(ir::Graph sunk, SinkCastsThroughLayouts(narrow));
  ASSIGN_OR_RETURN(ir::Graph stored, StoreCastsInProducers(sunk));
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
  // GELU outputs recomputed for the backward pass instead of kept: the bf16 copy of a GELU
  // result (bias_gelu, or gelu without biases; the MLP projection's input) whose
  // pre-activation is saved anyway. Its backward readers (the projection's weight gradient,
  // through a reshape) get cast(GELU(restored pre-activation[, bias])), one elementwise
  // kernel more per layer, and the forward copy dies after the forward projection (llm.c's
  // -r 1).
  std::vector<bool> recompute(g.num_values(), false);
  for (ir::NodeId id = loss + 1; id < g.num_nodes(); ++id)
    for (ValueId v : g.node(id).inputs) {
      const ValueId c = root_of(v);
      const ir::Node& cast = g.node(g.value(c).producer);
      if (cast.op != Op::kCast || g.value(c).producer > loss) continue;
      const ir::Node& gelu = g.node(g.value(cast.inputs[0]).producer);
      if ((gelu.op == Op::kBiasGelu || gelu.op == Op::kBiasGeluErf || gelu.op == Op::kGelu ||
           gelu.op == Op::kGeluErf) &&
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
      std::vector<ValueId> operands = {restore(gelu.inputs[0])};  // and the bias, if any
      for (size_t i = 1; i < gelu.inputs.size(); ++i) operands.push_back(map[gelu.inputs[i]]);
      const ir::NodeId gid = out.AddNode(gelu.op, std::move(operands), gelu.attrs,
                                         {{unique(x.name + ".recomputed"), x.type}});
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

}  // namespace gptc::passes
