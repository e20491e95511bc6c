// Aliases of the memory plan: views, persistent regions, updates and ops in place.
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "ir/check.h"
#include "ir/fusion_layout.h"
#include "passes/plan_internal.h"

namespace gptc::passes::plan {

using ir::Node;
using ir::Op;
using ir::Placement;
using ir::ValueId;

namespace {

// Whether n's kernel reads operand `operand` only at the index it writes (same-sized operands
// are read at the flat output index): its result may then be written over that operand when
// it dies there.
bool ReadsAtWriteIndex(const Node& n, size_t operand) {
  // Halide takes a kernel's buffers not to alias, so with several results LLVM may reload an
  // operand after storing a result over it (RowsFusion.PlannedTrainStepEqualsUnplanned found
  // one wrong). Only single-result kernels write over an operand; adamw's updates are decided
  // below, on their own terms.
  if (n.outputs.size() > 1) return false;
  if (ir::HasTrait(n.op, ir::kElementwise)) return true;
  if (n.op == Op::kBiasGelu || n.op == Op::kBiasGeluGrad || n.op == Op::kBiasGeluErf ||
      n.op == Op::kBiasGeluErfGrad || n.op == Op::kDropout)
    return true;
  // A GEMM reads rows of A and B for many results; matmul_add's addend only where it writes.
  if (n.op == Op::kMatMulAdd) return operand == 2;
  if (n.op == Op::kCacheWrite)
    return true;              // the new rows are read elsewhere, but they are a
                              // separate operand, never the one written over
  if (n.op == Op::kFusion) {  // a rows body reads each row before it writes it
    if (!n.body) return false;
    auto l = ir::LayOutFusion(*n.body);
    return l.ok() && l->kind != ir::FusionLayout::Kind::kReduction;
  }
  return false;
}

// `%grad.<param>`: a parameter's final gradient (autodiff's naming).
bool IsParamGradient(const ir::Graph& g, ValueId v) {
  const std::string& name = g.value(v).name;
  if (!absl::StartsWith(name, "grad.")) return false;
  auto p = g.FindValue(name.substr(5));
  return p && g.node(g.value(*p).producer).op == Op::kParam;
}

// A reshape sees its operand's memory in row-major order: a view of the operand, or of its
// base when the operand is itself a view (the strided-view pass only makes views whose
// reshapes compose, see plan_views.cc).
void PlaceReshape(ir::Graph& g, ValueId out, ValueId in) {
  if (g.value(out).place.kind != Placement::Kind::kNone) return;  // placed by the view pass
  const Placement& p = g.value(in).place;
  if (p.kind != Placement::Kind::kView) {
    g.mutable_value(out).place = Placement::View(in);
  } else if (p.strides.empty()) {
    g.mutable_value(out).place = Placement::View(p.base, p.offset);
  } else {
    auto s = ComposeReshape(g.value(in).type.shape, p.strides, g.value(out).type.shape);
    GPTC_CHECK(s.has_value()) << "plan: reshape %" << g.value(out).name
                              << " of a strided view does not compose";
    g.mutable_value(out).place = Placement::View(p.base, p.offset, *s);
  }
}

// Memory of each root: the last position any alias of it is read at.
struct Storage {
  std::vector<int64_t> last;  // by root value
};

}  // namespace

ValueId RootOf(const ir::Graph& g, ValueId v) {
  while (g.value(v).place.kind == Placement::Kind::kView ||
         g.value(v).place.kind == Placement::Kind::kInPlace)
    v = g.value(v).place.base;
  return v;
}

Liveness ComputeLiveness(const ir::Graph& g) {
  Liveness l;
  l.def.assign(g.num_values(), -1);
  l.last.assign(g.num_values(), -1);
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    const int64_t at = ir::HasTrait(n.op, ir::kDecl) ? -1 : id;
    for (ValueId v : n.outputs) l.def[v] = l.last[v] = at;
    for (ValueId v : n.inputs) l.last[v] = std::max(l.last[v], at);
  }
  for (ValueId v : g.outputs()) l.last[v] = kForever;
  for (const ir::Graph::Update& u : g.updates()) l.last[u.value] = kForever;
  return l;
}

void AssignAliases(ir::Graph& g, const PlanOptions& options) {
  const Liveness live = ComputeLiveness(g);
  // Views first: they decide which memory each value reads.
  if (options.strided_views) PlaceStridedViews(g);
  for (const Node& n : g.nodes())
    if (n.op == Op::kReshape) PlaceReshape(g, n.outputs[0], n.inputs[0]);
  // Persistent regions (offsets are laid out by plan.cc).
  for (const Node& n : g.nodes()) {
    const ValueId v = n.outputs.empty() ? -1 : n.outputs[0];
    const int64_t bytes = v < 0 ? 0 : ir::AlignUp(ValueBytes(g.value(v)));
    if (n.op == Op::kParam)
      g.mutable_value(v).place = Placement::Memory(ir::Region::kParam, -1, bytes);
    if (n.op == Op::kState)
      g.mutable_value(v).place = Placement::Memory(ir::Region::kState, -1, bytes);
    if (n.op == Op::kInput)
      g.mutable_value(v).place = Placement::Memory(ir::Region::kInput, -1, bytes);
  }
  for (ValueId v = 0; v < g.num_values(); ++v)
    if (g.value(v).place.kind == Placement::Kind::kNone && IsParamGradient(g, v))
      g.mutable_value(v).place =
          Placement::Memory(ir::Region::kGrad, -1, ir::AlignUp(ValueBytes(g.value(v))));
  if (!options.in_place) return;

  Storage s{std::vector<int64_t>(g.num_values(), -1)};
  for (ValueId v = 0; v < g.num_values(); ++v) {
    int64_t& last = s.last[RootOf(g, v)];
    last = std::max(last, live.last[v]);
  }
  // Updates in place: the new value is written straight into the parameter (or moment) once
  // nothing reads the old one any more; the update then copies nothing.
  absl::flat_hash_map<ValueId, int> sources;
  for (const ir::Graph::Update& u : g.updates()) ++sources[u.value];
  for (const ir::Graph::Update& u : g.updates()) {
    const ValueId v = u.value, target = RootOf(g, u.target);
    const ir::Value& val = g.value(v);
    if (val.place.kind != Placement::Kind::kNone || sources[v] != 1) continue;
    if (ir::HasTrait(g.node(val.producer).op, ir::kDecl)) continue;
    if (ValueBytes(val) != ValueBytes(g.value(target))) continue;
    const int64_t at = live.def[v];
    const int64_t old_last = s.last[target];
    // The adamw kernel reads each parameter's operands only at the index it writes that
    // parameter's results: its updates may go in place, though its other results may not.
    const Node& producer = g.node(val.producer);
    bool reads_old_at_write_index = true;  // wherever the producer reads the old value
    for (size_t i = 0; i < producer.inputs.size(); ++i)
      if (RootOf(g, producer.inputs[i]) == target && !ReadsAtWriteIndex(producer, i))
        reads_old_at_write_index = false;
    if (old_last > at || (old_last == at && !reads_old_at_write_index && producer.op != Op::kAdamW))
      continue;
    g.mutable_value(v).place = Placement::InPlace(target);
    s.last[target] = std::max(old_last, s.last[v]);
  }
  // Ops in place: an output takes over the memory of an operand that dies at this node.
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    std::vector<ValueId> taken;
    for (ValueId out : n.outputs) {
      if (g.value(out).place.kind != Placement::Kind::kNone) continue;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (!ReadsAtWriteIndex(n, i)) continue;
        const ValueId in = n.inputs[i];
        const ValueId r = RootOf(g, in);
        const Placement& rp = g.value(r).place;
        if (rp.kind != Placement::Kind::kNone)
          continue;  // persistent memory, or not a plain buffer
        if (ir::HasTrait(g.node(g.value(r).producer).op, ir::kDecl)) continue;
        if (s.last[r] != id || ValueBytes(g.value(r)) != ValueBytes(g.value(out))) continue;
        const Placement& ip = g.value(in).place;
        if (ip.kind == Placement::Kind::kView && (ip.offset != 0 || !ip.strides.empty())) continue;
        if (std::find(taken.begin(), taken.end(), r) != taken.end()) continue;
        taken.push_back(r);
        g.mutable_value(out).place = Placement::InPlace(r);
        s.last[r] = std::max(s.last[r], s.last[out]);
        break;
      }
    }
  }
}

}  // namespace gptc::passes::plan
