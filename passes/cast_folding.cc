// The mixed-precision pass's last steps: casts folded into the kernels next to them
// (passes/mixed_precision.h: WrapElementwiseNextToCasts, NarrowGemmResults,
// SinkCastsThroughLayouts, StoreCastsInProducers, LoadCastsInConsumers).
#include <algorithm>
#include <functional>
#include <memory>
#include <string>

#include "ir/fusion_layout.h"
#include "passes/fusion_group.h"
#include "passes/graph_rewrite.h"
#include "passes/mixed_precision.h"

namespace gptc::passes {

using ir::Op;
using ir::ValueId;
using namespace rewrite;

namespace {

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

absl::StatusOr<ir::Graph> SinkCastsThroughLayouts(const ir::Graph& g) {
  const Readers uses(g);
  auto layout = [](Op op) { return MovesData(op) || op == Op::kConcat; };
  // Whether every path up from f32 value v through layout ops ends at a result of a kernel
  // that can store bf16; collects the layout nodes on the way and those results. Where a
  // value on the way is read elsewhere too (`shared`: the qkv gradient's concat, which the
  // bias gradient reads in f32), the f32 path stays and the kernels must write a bf16 copy
  // besides, which only a kernel of several results does (StoreCastsInProducers: a copy
  // would cost a one-result kernel its in-place write).
  std::function<bool(ValueId, bool, std::vector<ir::NodeId>&, std::vector<ValueId>&)> sinks =
      [&](ValueId v, bool shared, std::vector<ir::NodeId>& chain, std::vector<ValueId>& leaves) {
        const ir::NodeId p = g.value(v).producer;
        const ir::Node& n = g.node(p);
        if (g.value(v).type.dtype != ir::DType::kF32) return false;
        shared = shared || uses.escapes[v] || uses.of[v].size() != 1;
        if (ir::HasTrait(n.op, ir::kStoresBF16) && n.body) {
          if (shared && n.outputs.size() < 2) return false;
          leaves.push_back(v);
          return true;
        }
        if (!layout(n.op)) return false;
        chain.push_back(p);
        for (ValueId in : n.inputs)
          if (!sinks(in, shared, chain, leaves)) return false;
        return true;
      };
  std::vector<bool> sunk(g.num_nodes(), false);         // casts moved up, and their layout ops
  std::vector<bool> cast_after(g.num_values(), false);  // results that get a cast
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (!IsCastTo(g, n, ir::DType::kBF16)) continue;
    const ValueId x = n.inputs[0];
    if (!layout(g.node(g.value(x).producer).op)) continue;  // StoreCastsInProducers' case
    std::vector<ir::NodeId> chain;
    std::vector<ValueId> leaves;
    if (!sinks(x, false, chain, leaves)) continue;
    sunk[id] = true;
    for (ir::NodeId c : chain) sunk[c] = true;
    for (ValueId v : leaves) cast_after[v] = true;
  }
  // Layout ops of a path whose f32 result is still read (by a kernel, or a kept layout op).
  std::vector<bool> keep(g.num_nodes(), false);
  for (ir::NodeId id = g.num_nodes() - 1; id >= 0; --id) {
    const ir::Node& n = g.node(id);
    if (!sunk[id] || n.op == Op::kCast) continue;
    keep[id] = uses.escapes[n.outputs[0]];
    for (ir::NodeId r : uses.of[n.outputs[0]]) keep[id] = keep[id] || !sunk[r] || keep[r];
  }
  UniqueNames unique(g);
  ir::Graph out(g.name());
  std::vector<ValueId> map(g.num_values(), -1);     // f32 values, as before
  std::vector<ValueId> narrow(g.num_values(), -1);  // bf16 values of the moved casts' paths
  const ir::Attrs to_bf16 = {{"dtype", std::string("bf16")}};
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (sunk[id] && n.op == Op::kCast) {  // its value is the path's last layout op's result
      map[n.outputs[0]] = narrow[n.inputs[0]];
      continue;
    }
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs) ins.push_back(sunk[id] ? narrow[v] : map[v]);
    if (sunk[id]) {  // a layout op of a path, on the bf16 values; the last takes the cast's name
      if (keep[id]) {
        std::vector<ValueId> f32;
        for (ValueId v : n.inputs) f32.push_back(map[v]);
        CopyNode(g, n, std::move(f32), out, map);
      }
      const ValueId r = n.outputs[0];
      std::string name;
      for (ir::NodeId c : uses.of[r])
        if (sunk[c] && g.node(c).op == Op::kCast) name = g.value(g.node(c).outputs[0]).name;
      ir::TensorType t = g.value(r).type;
      t.dtype = ir::DType::kBF16;
      if (name.empty()) name = unique(g.value(r).name + ".bf16");
      narrow[r] = out.node(out.AddNode(n.op, std::move(ins), n.attrs, {{name, t}})).outputs[0];
      continue;
    }
    CopyNode(g, n, std::move(ins), out, map);
    for (ValueId v : n.outputs) {
      if (!cast_after[v]) continue;
      ir::TensorType t = g.value(v).type;
      t.dtype = ir::DType::kBF16;
      const ir::NodeId c =
          out.AddNode(Op::kCast, {map[v]}, to_bf16, {{unique(g.value(v).name + ".bf16"), t}});
      narrow[v] = out.node(c).outputs[0];
    }
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
    // A group of one, made into a body as the fuse pass makes its groups' (each distinct
    // operand declared once, named as the outer value).
    FusionGroup group;
    group.pattern = "elementwise";
    group.members = {g.value(n.outputs[0]).producer};
    group.results = {n.outputs[0]};
    std::vector<ValueId> operands;
    std::shared_ptr<ir::Graph> body = BuildFusionBody(g, group, &operands);
    for (ValueId& v : operands) v = map[v];
    const ir::Value& r = g.value(n.outputs[0]);
    const ir::NodeId id = out.AddNode(Op::kFusion, std::move(operands),
                                      {{"pattern", group.pattern}}, {{r.name, r.type}});
    out.SetBody(id, MatchBody(out, id, body));
    map[n.outputs[0]] = out.node(id).outputs[0];
  }
  return Finish(g, std::move(out), map);
}

}  // namespace gptc::passes
