#include "runtime/executable.h"

#include <HalideRuntime.h>
#include <xmmintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/buffer_type.h"
#include "codegen/denormals.h"
#include "ir/check.h"
#include "ir/id_limits.h"
#include "ir/plan_check.h"
#include "ir/printer.h"
#include "ir/status_macros.h"
#include "passes/plan.h"
#include "runtime/communicator.h"
#include "runtime/process_memory.h"

namespace gptc {

struct Executable::Impl {
  StateStore* store = nullptr;
  bool reuses_memory = false;              // planned by the plan pass (not PlanNaive)
  std::shared_ptr<AlignedBuffer> arena;    // the step's temporaries (maybe shared)
  AlignedBuffer regions[ir::kNumRegions];  // owned persistent regions: gradients, inputs
  std::vector<char*> host;                 // by value: its first element
  std::deque<halide_buffer_t> hbufs;       // stable addresses for the argv arrays
  std::deque<std::vector<halide_dimension_t>> dims;
  struct Call {
    const codegen::CompiledKernel* kernel;  // null for a host op
    ir::NodeId node;
    std::vector<void*> argv;
    std::function<absl::Status()> host;  // a host op (all_reduce)
  };
  std::vector<Call> calls;
  // Updates the plan could not do in place: after a step, copy the new value over the state.
  struct Copy {
    void* dst;
    const void* src;
    size_t bytes;
  };
  std::vector<Copy> updates;
  bool profiling = false;
  bool check_numerics = false;
  std::vector<double> seconds;  // per call
  std::vector<double> best;     // per call: its fastest run (on a shared machine, the quiet one)
  int64_t runs = 0;
  absl::flat_hash_map<ir::ValueId, int64_t> id_limit;  // i32 input -> exclusive upper bound
};

namespace {}  // namespace

absl::Status Executable::BindMemory(const ir::Graph& g, StateStore& store,
                                    std::shared_ptr<AlignedBuffer> arena, Impl& im) {
  int64_t size[ir::kNumRegions] = {};
  std::vector<StateStore::BlockItem> blocks[ir::kNumRegions];
  for (const ir::Value& v : g.values()) {
    const ir::Placement& p = v.place;
    if (p.kind != ir::Placement::Kind::kMemory) continue;
    size[static_cast<int>(p.region)] =
        std::max(size[static_cast<int>(p.region)], p.offset + p.bytes);
    if (p.region == ir::Region::kParam || p.region == ir::Region::kState)
      blocks[static_cast<int>(p.region)].push_back({v.name, v.type, p.offset});
  }
  // A plan too large for this machine is an error before anything is allocated (allocating
  // would succeed under overcommit and the process be killed on first touch).
  const int64_t arena_bytes = size[static_cast<int>(ir::Region::kArena)];
  const bool shared = arena && static_cast<int64_t>(arena->bytes()) >= arena_bytes;
  int64_t need = (shared ? 0 : arena_bytes) + size[static_cast<int>(ir::Region::kGrad)] +
                 size[static_cast<int>(ir::Region::kInput)];
  for (ir::Region r : {ir::Region::kParam, ir::Region::kState})
    for (const StateStore::BlockItem& i : blocks[static_cast<int>(r)])
      if (!store.Find(i.name)) need += i.type.bytes();
  if (const int64_t avail = AvailableMemoryBytes(); avail > 0 && need > avail)
    return absl::ResourceExhaustedError(absl::StrCat(
        "graph ", g.name(), " needs ", need, " bytes (", need / 1048576, " MiB: arena ",
        size[static_cast<int>(ir::Region::kArena)], " bytes) but only ", avail,
        " bytes are available; try a smaller --batch-size (gptc mem shows the largest that fits)"));
  for (ir::Region r : {ir::Region::kParam, ir::Region::kState})
    if (!blocks[static_cast<int>(r)].empty())
      RETURN_IF_ERROR(store.DeclareBlock(blocks[static_cast<int>(r)], size[static_cast<int>(r)]));
  im.arena =
      shared ? std::move(arena) : std::make_shared<AlignedBuffer>(static_cast<size_t>(arena_bytes));
  for (ir::Region r : {ir::Region::kGrad, ir::Region::kInput})
    im.regions[static_cast<int>(r)] = AlignedBuffer(static_cast<size_t>(size[static_cast<int>(r)]));
  im.host.assign(g.num_values(), nullptr);
  std::function<char*(ir::ValueId)> resolve = [&](ir::ValueId v) -> char* {
    if (im.host[v]) return im.host[v];
    const ir::Placement& p = g.value(v).place;
    char* h = nullptr;
    if (p.kind == ir::Placement::Kind::kMemory) {
      if (p.region == ir::Region::kParam || p.region == ir::Region::kState) {
        h = static_cast<char*>(
            store.Find(g.value(v).name)->data);  // an earlier graph's block, maybe
      } else {
        AlignedBuffer& b =
            p.region == ir::Region::kArena ? *im.arena : im.regions[static_cast<int>(p.region)];
        h = static_cast<char*>(b.data()) + p.offset;
      }
    } else {
      h = resolve(p.base) + (p.kind == ir::Placement::Kind::kView
                                 ? ir::DTypeBytes(g.value(v).type.dtype) * p.offset
                                 : 0);
    }
    return im.host[v] = h;
  };
  for (ir::ValueId v = 0; v < g.num_values(); ++v) resolve(v);
  return absl::OkStatus();
}

Executable::~Executable() = default;

namespace {

// The all_reduce node's work: each operand copied into its result, then the results averaged
// over the replicas, with one call when together they are one block of f32 (the plan's
// gradient block, in AdamW's order; the padding between them is reduced too, and never
// read), else one each.
std::function<absl::Status()> AllReduceCall(const ir::Graph& g, const ir::Node& n,
                                            const std::vector<char*>& host) {
  struct Part {
    const char* src;
    char* dst;
    int64_t elems;
  };
  std::vector<Part> parts;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    parts.push_back({host[n.inputs[i]], host[n.outputs[i]],
                     std::max<int64_t>(1, g.value(n.outputs[i]).type.num_elements())});
  std::vector<Part> by_address = parts;
  std::sort(by_address.begin(), by_address.end(),
            [](const Part& a, const Part& b) { return a.dst < b.dst; });
  bool block = true;
  for (size_t i = 1; i < by_address.size(); ++i) {
    const char* end = by_address[i - 1].dst + 4 * by_address[i - 1].elems;
    block = block && by_address[i].dst >= end && by_address[i].dst - end < 64;
  }
  parts = by_address;
  return [parts, block]() -> absl::Status {
    for (const Part& p : parts)
      if (p.src != p.dst) std::memcpy(p.dst, p.src, static_cast<size_t>(4 * p.elems));
    if (World().size() == 1) return absl::OkStatus();
    if (block) {
      char* end = parts.back().dst + 4 * parts.back().elems;
      return World().AllReduceMean(reinterpret_cast<float*>(parts.front().dst),
                                   (end - parts.front().dst) / 4);
    }
    for (const Part& p : parts)
      if (absl::Status s = World().AllReduceMean(reinterpret_cast<float*>(p.dst), p.elems); !s.ok())
        return s;
    return absl::OkStatus();
  };
}

// A blocked adamw kernel reads each of p, grad, m and v as one block from its first
// parameter's address: check the memory really is laid out so (the plan says so, but the
// parameters may live in a StateStore block an earlier graph declared).
absl::Status CheckAdamWBlocks(const ir::Graph& g, const ir::Node& n,
                              const std::vector<char*>& host) {
  const size_t k = (n.inputs.size() - 2) / 4;
  for (size_t kind = 0; kind < 4; ++kind) {
    const char* at = host[n.inputs[2 + kind]];
    for (size_t i = 0; i < k; ++i) {
      const ir::ValueId v = n.inputs[2 + 4 * i + kind];
      if (host[v] != at)
        return absl::InternalError(
            absl::StrCat("adamw: %", g.value(v).name,
                         " is not where the plan's contiguous block puts it "
                         "(the parameters were declared in another layout)"));
      at += 4 * g.value(v).type.num_elements();
      if (kind != 1 && host[n.outputs[3 * i + (kind == 0 ? 0 : kind - 1)]] != host[v])
        return absl::InternalError(
            absl::StrCat("adamw: the new %", g.value(v).name, " is not written in place"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Executable>> Executable::Create(
    const ir::Graph& graph, codegen::KernelCompiler& compiler, StateStore& store,
    std::shared_ptr<AlignedBuffer> arena) {
  std::unique_ptr<Executable> ex(new Executable());
  ex->impl_ = std::make_unique<Impl>();
  Impl& im = *ex->impl_;
  im.store = &store;
  im.reuses_memory = graph.planned();
  ex->graph_ = graph.planned() ? graph : passes::PlanNaive(graph);
  const ir::Graph& g = ex->graph_;
  RETURN_IF_ERROR(ir::CheckPlan(g));
  RETURN_IF_ERROR(BindMemory(g, store, std::move(arena), im));
  im.id_limit = ir::IdLimits(g);

  // Every kernel compiled up front, in parallel; the loop below then loads them in order.
  std::vector<codegen::KernelSpec> specs;
  std::vector<ir::NodeId> kernel_nodes;
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (ir::HasTrait(n.op, ir::kDecl) || ir::MovesNoData(g, n)) continue;
    if (n.op == ir::Op::kAllReduce) {  // runs on the host, in its place among the kernels
      kernel_nodes.push_back(id);
      continue;
    }
    specs.push_back(codegen::KernelSpec::FromNode(g, n));
    kernel_nodes.push_back(id);
  }
  RETURN_IF_ERROR(compiler.Prepare(specs));
  size_t next_spec = 0;
  for (const ir::NodeId id : kernel_nodes) {
    const ir::Node& n = g.node(id);
    if (n.op == ir::Op::kAllReduce) {
      im.calls.push_back({nullptr, id, {}, AllReduceCall(g, n, im.host)});
      continue;
    }
    const size_t s = next_spec++;
    ASSIGN_OR_RETURN(const codegen::CompiledKernel* k, compiler.Get(specs[s]));
    Impl::Call call{k, id, {}, nullptr};
    std::vector<ir::ValueId> args = n.inputs;
    args.insert(args.end(), n.outputs.begin(), n.outputs.end());
    if (!k->args.empty()) {  // the kernel takes some of them (adamw: each block once)
      std::vector<ir::ValueId> some;
      for (int a : k->args) some.push_back(args[a]);
      args = std::move(some);
      if (n.op == ir::Op::kAdamW) RETURN_IF_ERROR(CheckAdamWBlocks(g, n, im.host));
    }
    GPTC_CHECK(k->views.size() == args.size())
        << "kernel " << k->description << " has " << k->views.size() << " views for " << args.size()
        << " arguments";
    for (size_t a = 0; a < args.size(); ++a) {
      const ir::Shape& view = k->views[a];
      const ir::TensorType& t = g.value(args[a]).type;
      GPTC_CHECK(ir::NumElements(view) == std::max<int64_t>(1, t.num_elements()) ||
                 (!k->args.empty() && ir::NumElements(view) > t.num_elements()))
          << "view " << ir::ShapeToString(view) << " does not cover " << ir::TypeToString(t);
      std::vector<halide_dimension_t>& d = im.dims.emplace_back(view.size());
      const std::vector<int64_t> strides =
          k->strides[a].empty() ? ir::Strides(view) : k->strides[a];
      for (size_t i = 0; i < view.size(); ++i) {  // Halide's dimension 0 is the innermost axis
        const size_t axis = view.size() - 1 - i;
        d[i] = halide_dimension_t(0, static_cast<int32_t>(view[axis]),
                                  static_cast<int32_t>(strides[axis]));
      }
      halide_buffer_t& hb = im.hbufs.emplace_back();
      hb = halide_buffer_t();
      hb.type = codegen::BufferType(t.dtype);
      hb.dimensions = static_cast<int32_t>(view.size());
      hb.dim = d.data();
      hb.host = reinterpret_cast<uint8_t*>(im.host[args[a]]);
      call.argv.push_back(&hb);
    }
    im.calls.push_back(std::move(call));
  }
  for (const ir::Graph::Update& u : g.updates())
    if (im.host[u.target] != im.host[u.value])
      im.updates.push_back({im.host[u.target], im.host[u.value],
                            static_cast<size_t>(g.value(u.target).type.bytes())});
  return ex;
}

int64_t Executable::arena_bytes() const { return static_cast<int64_t>(impl_->arena->bytes()); }

int64_t Executable::ArenaBytes(const ir::Graph& g) {
  int64_t bytes = 0;
  for (const ir::Value& v : g.values())
    if (v.place.kind == ir::Placement::Kind::kMemory && v.place.region == ir::Region::kArena)
      bytes = std::max(bytes, v.place.offset + v.place.bytes);
  return bytes;
}

int64_t Executable::owned_bytes() const {
  int64_t b = 0;
  for (const AlignedBuffer& r : impl_->regions) b += static_cast<int64_t>(r.bytes());
  return b;
}

int Executable::num_kernel_calls() const { return static_cast<int>(impl_->calls.size()); }

absl::Status Executable::SetInput(const std::string& name, const ir::Literal& value) {
  auto v = graph_.FindValue(name);
  if (!v || graph_.node(graph_.value(*v).producer).op != ir::Op::kInput)
    return absl::NotFoundError(absl::StrCat("graph ", graph_.name(), " has no input %", name));
  const ir::TensorType& t = graph_.value(*v).type;
  if (value.type != t)
    return absl::InvalidArgumentError(absl::StrCat("input %", name, " expects ",
                                                   ir::TypeToString(t), ", given ",
                                                   ir::TypeToString(value.type)));
  if (auto it = impl_->id_limit.find(*v); it != impl_->id_limit.end()) {
    for (int64_t i = 0; i < value.size(); ++i)
      if (value.data[i] < 0 || value.data[i] >= it->second)
        return absl::OutOfRangeError(absl::StrCat("input %", name, ": id ", value.data[i],
                                                  " at flat position ", i, " is outside [0,",
                                                  it->second, ")"));
  }
  LiteralToHost(value, impl_->host[*v]);
  return absl::OkStatus();
}

// The first non-finite element of value v in its memory (through its view's strides), or -1.
static int64_t FirstNonFinite(const ir::Graph& g, ir::ValueId v, const char* host) {
  const ir::Value& val = g.value(v);
  if (val.type.dtype != ir::DType::kF32) return -1;
  const ir::Shape& shape = val.type.shape;
  std::vector<int64_t> strides =
      val.place.kind == ir::Placement::Kind::kView && !val.place.strides.empty()
          ? val.place.strides
          : ir::Strides(shape);
  const float* f = reinterpret_cast<const float*>(host);
  const int64_t n = val.type.num_elements();
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t at = 0;
    for (size_t a = 0; a < shape.size(); ++a) at += idx[a] * strides[a];
    if (!std::isfinite(f[at])) return flat;
    for (int a = static_cast<int>(shape.size()) - 1; a >= 0; --a) {  // odometer over the index
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return -1;
}

absl::Status Executable::CheckNumerics(ir::NodeId id) const {
  const ir::Node& n = graph_.node(id);
  for (ir::ValueId v : n.outputs) {
    const int64_t at = FirstNonFinite(graph_, v, impl_->host[v]);
    if (at < 0) continue;
    const ir::Value& val = graph_.value(v);
    const float x = [&] {  // the offending value, for the message (flat index through the view)
      std::vector<int64_t> strides =
          val.place.kind == ir::Placement::Kind::kView && !val.place.strides.empty()
              ? val.place.strides
              : ir::Strides(val.type.shape);
      int64_t off = 0, rest = at;
      for (int a = val.type.rank() - 1; a >= 0; --a) {
        off += (rest % val.type.shape[a]) * strides[a];
        rest /= val.type.shape[a];
      }
      return reinterpret_cast<const float*>(impl_->host[v])[off];
    }();
    const bool decl = ir::HasTrait(n.op, ir::kDecl);
    return absl::DataLossError(
        absl::StrCat("check-numerics: %", val.name, " ", ir::TypeToString(val.type), " holds ",
                     std::isnan(x) ? "nan"
                     : x > 0       ? "inf"
                                   : "-inf",
                     " at flat index ", at,
                     decl ? " before the step (a value given to the graph): " : ", first made by: ",
                     ir::PrintNode(graph_, id)));
  }
  return absl::OkStatus();
}

absl::Status Executable::RunKernels() {
  Impl& im = *impl_;
  if (im.check_numerics)  // what the step is given: parameters, moments, inputs
    for (ir::NodeId id = 0; id < graph_.num_nodes(); ++id)
      if (ir::HasTrait(graph_.node(id).op, ir::kDecl)) RETURN_IF_ERROR(CheckNumerics(id));
  // Flush denormals to zero: they made GEMM 200x slower here (DESIGN.md). Halide's workers
  // copy the MXCSR of the thread that starts them.
  codegen::FlushDenormals();
  if (im.profiling) ++im.runs;
  // A call's time since `start`, added to its total and kept if its fastest.
  auto record = [&im](size_t ci, std::chrono::steady_clock::time_point start) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    im.seconds[ci] += s;
    im.best[ci] = std::min(im.best[ci], s);
  };
  for (size_t ci = 0; ci < im.calls.size(); ++ci) {
    Impl::Call& c = im.calls[ci];
    const auto start =
        im.profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    if (c.host) {
      if (absl::Status s = c.host(); !s.ok())
        return absl::Status(s.code(),
                            absl::StrCat(s.message(), " in: ", ir::PrintNode(graph_, c.node)));
      if (im.profiling) record(ci, start);
      continue;
    }
    const int rc = c.kernel->fn(c.argv.data());
    if (im.profiling) record(ci, start);
    if (rc != 0)
      return absl::InternalError(absl::StrCat("kernel ", c.kernel->name, " failed (Halide error ",
                                              rc, ") in: ", ir::PrintNode(graph_, c.node)));
    if (im.check_numerics) RETURN_IF_ERROR(CheckNumerics(c.node));
  }
  return absl::OkStatus();
}

void Executable::ApplyUpdates() {
  Impl& im = *impl_;
  for (const Impl::Copy& c : im.updates) std::memcpy(c.dst, c.src, c.bytes);
}

absl::StatusOr<std::vector<ir::Literal>> Executable::Run() {
  RETURN_IF_ERROR(RunKernels());
  // Outputs are read before the updates copy over state.
  std::vector<ir::Literal> out;
  for (ir::ValueId v : graph_.outputs())
    out.push_back(HostToLiteral(graph_.value(v).type, impl_->host[v]));
  ApplyUpdates();
  return out;
}

absl::Status Executable::SetScalar(const std::string& name, double value) {
  auto v = graph_.FindValue(name);
  if (!v || graph_.node(graph_.value(*v).producer).op != ir::Op::kInput ||
      graph_.value(*v).type != ir::F32({}))
    return absl::NotFoundError(
        absl::StrCat("graph ", graph_.name(), " has no f32[] input %", name));
  *reinterpret_cast<float*>(impl_->host[*v]) = static_cast<float>(value);
  return absl::OkStatus();
}

absl::StatusOr<double> Executable::RunScalar(int index) {
  RETURN_IF_ERROR(ScalarOutput(index).status());  // a bad index fails before the step runs
  RETURN_IF_ERROR(RunKernels());
  const double out = *ScalarOutput(index);  // before updates copy
  ApplyUpdates();
  return out;
}

absl::StatusOr<double> Executable::ScalarOutput(int index) const {
  if (index < 0 || index >= static_cast<int>(graph_.outputs().size()))
    return absl::OutOfRangeError(absl::StrCat("graph ", graph_.name(), " has no output ", index));
  const ir::ValueId v = graph_.outputs()[index];
  if (graph_.value(v).type != ir::F32({}))
    return absl::InvalidArgumentError(
        absl::StrCat("output %", graph_.value(v).name, " is not f32[]"));
  return *reinterpret_cast<const float*>(impl_->host[v]);
}

absl::Status Executable::Step() {
  RETURN_IF_ERROR(RunKernels());
  ApplyUpdates();
  return absl::OkStatus();
}

void Executable::EnableNumericChecks(bool on) { impl_->check_numerics = on; }

void Executable::EnableProfiling(bool on) {
  impl_->profiling = on;
  impl_->seconds.assign(impl_->calls.size(), 0.0);
  impl_->best.assign(impl_->calls.size(), std::numeric_limits<double>::infinity());
  impl_->runs = 0;
}

double Executable::QuietStepSeconds() const {
  double total = 0;
  for (const KernelTime& k : Profile()) total += k.best_seconds;
  return total;
}

std::vector<Executable::KernelTime> Executable::Profile() const {
  std::vector<KernelTime> out;
  for (size_t i = 0; i < impl_->calls.size() && i < impl_->seconds.size(); ++i) {
    const Impl::Call& c = impl_->calls[i];
    out.push_back({ir::PrintNode(graph_, c.node), c.kernel ? c.kernel->name : "all_reduce (MPI)",
                   c.kernel ? c.kernel->schedule : "", impl_->seconds[i], impl_->runs, c.node,
                   impl_->runs > 0 ? impl_->best[i] : 0.0});
  }
  return out;
}

absl::StatusOr<ir::Literal> Executable::Read(const std::string& name) const {
  auto v = graph_.FindValue(name);
  if (!v)
    return absl::NotFoundError(absl::StrCat("graph ", graph_.name(), " has no value %", name));
  const ir::Placement& p = graph_.value(*v).place;
  const bool kept =
      std::find(graph_.outputs().begin(), graph_.outputs().end(), *v) != graph_.outputs().end() ||
      (p.kind == ir::Placement::Kind::kMemory && ir::IsPersistent(p.region));
  if (impl_->reuses_memory && !kept)
    return absl::FailedPreconditionError(
        absl::StrCat("%", name, " is a temporary of planned graph ", graph_.name(),
                     ": its memory is reused once it is dead; read it from a graph built without "
                     "the plan pass (--no-plan)"));
  if (p.kind == ir::Placement::Kind::kView && !p.strides.empty())
    return absl::UnimplementedError(absl::StrCat("%", name, " is a strided view; read its base"));
  return HostToLiteral(graph_.value(*v).type, impl_->host[*v]);
}

}  // namespace gptc
