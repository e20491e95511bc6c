#include "runtime/executable.h"

#include <HalideRuntime.h>
#include <xmmintrin.h>

#include <chrono>
#include <cstring>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ir/check.h"
#include "ir/printer.h"
#include "ir/status_macros.h"

namespace gptc {

struct Executable::Impl {
  StateStore* store = nullptr;
  std::vector<ir::ValueId> root;               // storage owner of each value (reshape = view)
  std::vector<AlignedBuffer> owned;            // by value id; empty for decl params/state, views
  std::vector<StateStore::Entry*> state;       // by value id; set for param/state declarations
  std::deque<halide_buffer_t> hbufs;           // stable addresses for the argv arrays
  std::deque<std::vector<halide_dimension_t>> dims;
  std::vector<std::pair<halide_buffer_t*, ir::ValueId>> bound;
  struct Call {
    const codegen::CompiledKernel* kernel;
    ir::NodeId node;
    std::vector<void*> argv;
  };
  std::vector<Call> calls;
  // The graph's updates, resolved once: after a step, `dst` takes the value either by
  // swapping buffers with the value's scratch (`swap_with`) or, when the value is itself a
  // declaration or already moved into another state, by copying from `copy_from`.
  struct UpdateStep {
    StateStore::Entry* dst;
    ir::ValueId swap_with = -1;
    StateStore::Entry* copy_from = nullptr;
  };
  std::vector<UpdateStep> updates;
  bool profiling = false;
  std::vector<double> seconds;  // per call
  int64_t runs = 0;
  absl::flat_hash_map<ir::ValueId, int64_t> id_limit;  // i32 input -> exclusive upper bound

  void* Host(ir::ValueId v) const {
    const ir::ValueId r = root[v];
    return state[r] ? state[r]->buffer.data() : owned[r].data();
  }
};

namespace {

halide_type_t HalideType(ir::DType t) {
  return t == ir::DType::kF32 ? halide_type_t(halide_type_float, 32) : halide_type_t(halide_type_int, 32);
}

// Records the largest id each integer input may hold, from the ops that index with it.
void CollectIdLimits(const ir::Graph& g, absl::flat_hash_map<ir::ValueId, int64_t>& limits) {
  auto limit = [&](ir::ValueId v, int64_t n) {
    auto [it, inserted] = limits.emplace(v, n);
    if (!inserted) it->second = std::min(it->second, n);
  };
  for (const ir::Node& n : g.nodes()) {
    if (n.op == ir::Op::kEmbedding) limit(n.inputs[1], g.value(n.inputs[0]).type.shape[0]);
    if (n.op == ir::Op::kSoftmaxXent || n.op == ir::Op::kSoftmaxXentGrad)
      limit(n.inputs[1], g.value(n.inputs[0]).type.shape.back());
    if (n.op == ir::Op::kEmbeddingGrad) limit(n.inputs[0], *n.attrs.GetInt("rows"));
  }
}

}  // namespace

Executable::~Executable() = default;

absl::StatusOr<std::unique_ptr<Executable>> Executable::Create(const ir::Graph& g,
                                                               codegen::KernelCompiler& compiler,
                                                               StateStore& store) {
  std::unique_ptr<Executable> ex(new Executable());
  ex->graph_ = g;
  ex->impl_ = std::make_unique<Impl>();
  Impl& im = *ex->impl_;
  im.store = &store;
  const int nv = g.num_values();
  im.root.resize(nv);
  im.owned.resize(nv);
  im.state.assign(nv, nullptr);
  for (ir::ValueId v = 0; v < nv; ++v) im.root[v] = v;
  CollectIdLimits(g, im.id_limit);

  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.op == ir::Op::kParam || n.op == ir::Op::kState) {
      const ir::Value& v = g.value(n.outputs[0]);
      RETURN_IF_ERROR(store.Declare(v.name, v.type));
      im.state[n.outputs[0]] = store.Find(v.name);
      continue;
    }
    if (codegen::IsAlias(n.op)) {
      im.root[n.outputs[0]] = im.root[n.inputs[0]];
      continue;
    }
    for (ir::ValueId v : n.outputs)
      im.owned[v] = AlignedBuffer(4 * std::max<int64_t>(1, g.value(v).type.num_elements()));
    if (n.op == ir::Op::kInput) continue;

    ASSIGN_OR_RETURN(const codegen::CompiledKernel* k,
                     compiler.Get(codegen::KernelSpec::FromNode(g, n)));
    Impl::Call call{k, id, {}};
    std::vector<ir::ValueId> args = n.inputs;
    args.insert(args.end(), n.outputs.begin(), n.outputs.end());
    GPTC_CHECK(k->views.size() == args.size()) << "kernel " << k->description << " has "
                                               << k->views.size() << " views for " << args.size() << " arguments";
    for (size_t a = 0; a < args.size(); ++a) {
      const ir::Shape& view = k->views[a];
      const ir::TensorType& t = g.value(args[a]).type;
      GPTC_CHECK(ir::NumElements(view) == std::max<int64_t>(1, t.num_elements()))
          << "view " << ir::ShapeToString(view) << " does not cover " << ir::TypeToString(t);
      std::vector<halide_dimension_t>& d = im.dims.emplace_back(view.size());
      const std::vector<int64_t> strides = ir::Strides(view);
      for (size_t i = 0; i < view.size(); ++i) {  // Halide's dimension 0 is the innermost axis
        const size_t axis = view.size() - 1 - i;
        d[i] = halide_dimension_t(0, static_cast<int32_t>(view[axis]), static_cast<int32_t>(strides[axis]));
      }
      halide_buffer_t& hb = im.hbufs.emplace_back();
      hb = halide_buffer_t();
      hb.type = HalideType(t.dtype);
      hb.dimensions = static_cast<int32_t>(view.size());
      hb.dim = d.data();
      im.bound.emplace_back(&hb, args[a]);
      call.argv.push_back(&hb);
    }
    im.calls.push_back(std::move(call));
  }
  absl::flat_hash_map<ir::ValueId, StateStore::Entry*> moved;  // value -> state that takes it
  for (const ir::Graph::Update& u : g.updates()) {
    const ir::ValueId src = im.root[u.value];
    Impl::UpdateStep step{im.state[u.target]};
    if (im.state[src]) {
      step.copy_from = im.state[src];
    } else if (auto it = moved.find(src); it != moved.end()) {  // one value updates two states
      step.copy_from = it->second;
    } else {
      step.swap_with = src;  // the old state becomes this value's scratch next step
      moved.emplace(src, step.dst);
    }
    im.updates.push_back(step);
  }
  return ex;
}

int Executable::num_kernel_calls() const { return static_cast<int>(impl_->calls.size()); }

absl::Status Executable::SetInput(const std::string& name, const ir::Literal& value) {
  auto v = graph_.FindValue(name);
  if (!v || graph_.node(graph_.value(*v).producer).op != ir::Op::kInput)
    return absl::NotFoundError(absl::StrCat("graph ", graph_.name(), " has no input %", name));
  const ir::TensorType& t = graph_.value(*v).type;
  if (value.type != t)
    return absl::InvalidArgumentError(absl::StrCat("input %", name, " expects ", ir::TypeToString(t),
                                                   ", given ", ir::TypeToString(value.type)));
  if (auto it = impl_->id_limit.find(*v); it != impl_->id_limit.end()) {
    for (int64_t i = 0; i < value.size(); ++i)
      if (value.data[i] < 0 || value.data[i] >= it->second)
        return absl::OutOfRangeError(absl::StrCat("input %", name, ": id ", value.data[i], " at flat position ", i,
                                                  " is outside [0,", it->second, ")"));
  }
  LiteralToHost(value, impl_->owned[*v].data());
  return absl::OkStatus();
}

absl::Status Executable::RunKernels() {
  Impl& im = *impl_;
  // Flush denormals to zero: they made GEMM 200x slower here (DESIGN.md). Halide's workers
  // copy the MXCSR of the thread that starts them.
  _mm_setcsr(_mm_getcsr() | 0x8040);
  for (auto& [hb, v] : im.bound) hb->host = static_cast<uint8_t*>(im.Host(v));
  if (im.profiling) ++im.runs;
  for (size_t ci = 0; ci < im.calls.size(); ++ci) {
    Impl::Call& c = im.calls[ci];
    const auto start = im.profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    const int rc = c.kernel->fn(c.argv.data());
    if (im.profiling)
      im.seconds[ci] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rc != 0)
      return absl::InternalError(absl::StrCat("kernel ", c.kernel->name, " failed (Halide error ", rc,
                                              ") in: ", ir::PrintNode(graph_, c.node)));
  }
  return absl::OkStatus();
}

void Executable::ApplyUpdates() {
  Impl& im = *impl_;
  for (const Impl::UpdateStep& u : im.updates) {
    if (u.copy_from) {
      std::memcpy(u.dst->buffer.data(), u.copy_from->buffer.data(), u.dst->buffer.bytes());
    } else {
      u.dst->buffer.swap(im.owned[u.swap_with]);
    }
  }
}

absl::StatusOr<std::vector<ir::Literal>> Executable::Run() {
  RETURN_IF_ERROR(RunKernels());
  // Outputs are read before the updates swap buffers away.
  std::vector<ir::Literal> out;
  for (ir::ValueId v : graph_.outputs()) out.push_back(HostToLiteral(graph_.value(v).type, impl_->Host(v)));
  ApplyUpdates();
  return out;
}

absl::Status Executable::SetScalar(const std::string& name, double value) {
  auto v = graph_.FindValue(name);
  if (!v || graph_.node(graph_.value(*v).producer).op != ir::Op::kInput || graph_.value(*v).type != ir::F32({}))
    return absl::NotFoundError(absl::StrCat("graph ", graph_.name(), " has no f32[] input %", name));
  *static_cast<float*>(impl_->owned[*v].data()) = static_cast<float>(value);
  return absl::OkStatus();
}

absl::StatusOr<double> Executable::RunScalar(int index) {
  if (index < 0 || index >= static_cast<int>(graph_.outputs().size()))
    return absl::OutOfRangeError(absl::StrCat("graph ", graph_.name(), " has no output ", index));
  const ir::ValueId v = graph_.outputs()[index];
  if (graph_.value(v).type != ir::F32({}))
    return absl::InvalidArgumentError(absl::StrCat("output %", graph_.value(v).name, " is not f32[]"));
  RETURN_IF_ERROR(RunKernels());
  const double out = *static_cast<const float*>(impl_->Host(v));  // before updates swap buffers
  ApplyUpdates();
  return out;
}

absl::Status Executable::Step() {
  RETURN_IF_ERROR(RunKernels());
  ApplyUpdates();
  return absl::OkStatus();
}

void Executable::EnableProfiling(bool on) {
  impl_->profiling = on;
  impl_->seconds.assign(impl_->calls.size(), 0.0);
  impl_->runs = 0;
}

std::vector<Executable::KernelTime> Executable::Profile() const {
  std::vector<KernelTime> out;
  for (size_t i = 0; i < impl_->calls.size() && i < impl_->seconds.size(); ++i)
    out.push_back({ir::PrintNode(graph_, impl_->calls[i].node), impl_->calls[i].kernel->name,
                   impl_->calls[i].kernel->schedule, impl_->seconds[i], impl_->runs});
  return out;
}

absl::StatusOr<ir::Literal> Executable::Read(const std::string& name) const {
  auto v = graph_.FindValue(name);
  if (!v) return absl::NotFoundError(absl::StrCat("graph ", graph_.name(), " has no value %", name));
  return HostToLiteral(graph_.value(*v).type, impl_->Host(*v));
}

}  // namespace gptc
