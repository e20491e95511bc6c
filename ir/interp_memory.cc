// The reference interpreter on a planned graph's memory (InterpOptions::kPlanned and
// kPoisoned): regions of doubles, one slot per 2 bytes, every value read and written
// through its placement. A bf16 element fills one slot; an f32 or i32 element two, written
// alike and read back only while both still agree, so a bf16 value placed over half of a
// live f32 one reads as NaN, as the overlap would corrupt it in the compiled runtime. Layout ops
// that the plan turned into views move no data here, as in the compiled runtime, so a wrong view
// shows up in the results.
#include <limits>

#include "absl/strings/str_cat.h"
#include "ir/interp_kernels.h"
#include "ir/plan_check.h"
#include "ir/printer.h"
#include "ir/status_macros.h"

namespace gptc::ir {
namespace {

struct Location {
  int region = 0;
  int64_t offset = 0;            // slots (2 bytes) to element 0
  int64_t width = 2;             // slots per element
  std::vector<int64_t> strides;  // elements, one per axis
};

bool SameBits(double a, double b) { return a == b || (a != a && b != b); }

class Memory {
 public:
  explicit Memory(const Graph& g) : g_(g), loc_(g.num_values()), done_(g.num_values(), false) {
    int64_t size[kNumRegions] = {};
    for (const Value& v : g.values())
      if (v.place.kind == Placement::Kind::kMemory)
        size[int(v.place.region)] =
            std::max(size[int(v.place.region)], (v.place.offset + v.place.bytes) / 2);
    for (int r = 0; r < kNumRegions; ++r) mem_[r].assign(size[r], 0.0);
    for (ValueId v = 0; v < g.num_values(); ++v) Resolve(v);
  }

  Literal Read(ValueId v) const {
    Literal lit(g_.value(v).type);
    const std::vector<double>& m = mem_[loc_[v].region];
    const bool wide = loc_[v].width == 2;
    ForEach(v, [&](int64_t flat, int64_t addr) {
      lit.data[flat] = !wide || SameBits(m[addr], m[addr + 1])
                           ? m[addr]
                           : std::numeric_limits<double>::quiet_NaN();
    });
    return lit;
  }
  void Write(ValueId v, const Literal& lit) {
    std::vector<double>& m = mem_[loc_[v].region];
    const bool wide = loc_[v].width == 2;
    ForEach(v, [&](int64_t flat, int64_t addr) {
      m[addr] = lit.data[flat];
      if (wide) m[addr + 1] = lit.data[flat];
    });
  }
  void Poison(ValueId root) {
    const Placement& p = g_.value(root).place;
    std::fill(mem_[int(p.region)].begin() + p.offset / 2,
              mem_[int(p.region)].begin() + (p.offset + p.bytes) / 2,
              std::numeric_limits<double>::quiet_NaN());
  }
  bool SameMemory(ValueId a, ValueId b) const {
    return loc_[a].region == loc_[b].region && loc_[a].offset == loc_[b].offset &&
           loc_[a].strides == loc_[b].strides;
  }

 private:
  void Resolve(ValueId v) {
    if (done_[v]) return;
    const Placement& p = g_.value(v).place;
    const Shape& shape = g_.value(v).type.shape;
    Location l;
    const int64_t width = DTypeBytes(g_.value(v).type.dtype) / 2;
    if (p.kind == Placement::Kind::kMemory) {
      l = {int(p.region), p.offset / 2, width, Strides(shape)};
    } else {
      Resolve(p.base);
      l = loc_[p.base];
      l.width = width;
      if (p.kind == Placement::Kind::kView) l.offset += p.offset * width;
      l.strides =
          p.kind == Placement::Kind::kView && !p.strides.empty() ? p.strides : Strides(shape);
    }
    loc_[v] = l;
    done_[v] = true;
  }
  template <typename F>
  void ForEach(ValueId v, F f) const {
    const Shape& shape = g_.value(v).type.shape;
    const Location& l = loc_[v];
    const int64_t n = std::max<int64_t>(1, NumElements(shape));
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t flat = 0; flat < n; ++flat) {
      int64_t addr = l.offset;
      for (size_t a = 0; a < shape.size(); ++a) addr += idx[a] * l.strides[a] * l.width;
      f(flat, addr);
      for (int a = static_cast<int>(shape.size()) - 1; a >= 0; --a) {
        if (++idx[a] < shape[a]) break;
        idx[a] = 0;
      }
    }
  }

  const Graph& g_;
  std::vector<Location> loc_;
  std::vector<bool> done_;
  std::vector<double> mem_[kNumRegions];
};

ValueId RootOf(const Graph& g, ValueId v) {
  while (g.value(v).place.kind != Placement::Kind::kMemory) v = g.value(v).place.base;
  return v;
}

}  // namespace

absl::StatusOr<std::vector<Literal>> InterpretStepInMemory(const Graph& g, LiteralMap& state,
                                                           const LiteralMap& inputs,
                                                           const InterpOptions& options) {
  RETURN_IF_ERROR(CheckPlan(g));
  Memory mem(g);
  // The last node that reads each arena buffer (through any value placed in it).
  std::vector<int64_t> last(g.num_values(), -1);
  for (const Graph::Update& u : g.updates()) last[RootOf(g, u.value)] = g.num_nodes();
  for (ValueId v : g.outputs()) last[RootOf(g, v)] = g.num_nodes();
  for (NodeId id = 0; id < g.num_nodes(); ++id)
    for (ValueId v : g.node(id).inputs)
      last[RootOf(g, v)] = std::max<int64_t>(last[RootOf(g, v)], id);
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    if (HasTrait(n.op, kDecl)) {
      const Value& v = g.value(n.outputs[0]);
      const LiteralMap& from = n.op == Op::kInput ? inputs : state;
      auto it = from.find(v.name);
      if (it == from.end() || it->second.type != v.type)
        return absl::InvalidArgumentError(absl::StrCat("interpreter: no ", TypeToString(v.type),
                                                       " value given for ", OpName(n.op), " %",
                                                       v.name));
      Literal arg = it->second;
      interp::RoundToStorage(arg, options.precision);  // as InterpretAll binds it
      mem.Write(n.outputs[0], arg);
      continue;
    }
    if (MovesNoData(g, n)) continue;
    std::vector<Literal> args;
    for (ValueId v : n.inputs) args.push_back(mem.Read(v));
    interp::Args in;
    for (const Literal& a : args) in.push_back(&a);
    auto r = interp::EvalNode(g, n, in, options);
    if (!r.ok())
      return absl::Status(r.status().code(),
                          absl::StrCat(r.status().message(), " in: ", PrintNode(g, id)));
    if (options.memory == InterpOptions::Memory::kPoisoned)
      for (ValueId v = 0; v < g.num_values(); ++v)
        if (g.value(v).place.kind == Placement::Kind::kMemory &&
            g.value(v).place.region == Region::kArena && last[v] == id)
          mem.Poison(v);
    for (size_t i = 0; i < n.outputs.size(); ++i) mem.Write(n.outputs[i], (*r)[i]);
  }
  std::vector<Literal> out;
  for (ValueId v : g.outputs()) out.push_back(mem.Read(v));
  std::vector<std::pair<std::string, Literal>> updated;
  for (const Graph::Update& u : g.updates())
    updated.emplace_back(g.value(u.target).name, mem.Read(u.value));
  for (auto& [name, lit] : updated) state[name] = std::move(lit);
  return out;
}

}  // namespace gptc::ir
