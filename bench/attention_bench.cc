// Google Benchmark of the fused causal attention kernels, forward and backward, at the
// presets' train-step shapes and as their train steps have them (q, k and v strided views of
// the qkv projection): the f32 kernel, and the mixed-precision form (--precision=bf16) on
// the Halide kernel (also with its products on vdpbf16ps) and on AMX tiles
// (codegen/amx_attention.h; skipped where AMX is off, naming the missing CPU flag). Counters:
// GFLOP/s of the products' causal half (the work the kernels must do; `gptc bench` counts the
// products in full, twice this), of_fp32_peak and of_amx_peak (peaks measured at start on the same
// threads).
//
//   build/bench/attention_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/peak_flops.h"
#include "bench/step_flops.h"
#include "codegen/amx_gemm.h"
#include "codegen/cpu_info.h"
#include "codegen/host_target.h"
#include "codegen/kernel_compiler.h"
#include "codegen/kernel_spec.h"
#include "codegen/kernel_timer.h"
#include "codegen/spin_pool.h"
#include "frontend/model_registry.h"
#include "passes/train_graphs.h"

namespace gptc {
namespace {

int Threads() { return codegen::SpinPool::Get().threads(); }

double Fp32Peak() {
  static const double peak = MeasurePeakGflops(Threads());
  return peak;
}
double AmxPeak() {
  static const double peak = codegen::RequestAmx().ok ? MeasureAmxPeakGflops(Threads()) : 0;
  return peak;
}

codegen::KernelCompiler& Compiler() {
  static codegen::KernelCompiler* c = [] {
    codegen::CompilerOptions o;
    o.tune = false;
    auto made = codegen::KernelCompiler::Create(o);
    if (!made.ok()) std::abort();
    return made->release();
  }();
  return *c;
}

struct Case {
  std::string preset;
  bool bf16, grad, amx;
  bool dot = false;  // the Halide kernel with products on vdpbf16ps
};

// A case's kernel, compiled once (Google Benchmark calls a benchmark several times) with
// its timer's buffers and FLOPs; or why it cannot run here.
struct Prepared {
  std::string error;
  std::unique_ptr<codegen::CompiledKernel> kernel;
  std::unique_ptr<codegen::KernelTimer> timer;
  double gflops = 0;
};

Prepared Why(std::string error) {
  Prepared p;
  p.error = std::move(error);
  return p;
}

Prepared Prepare(const Case& c) {
  Prepared p;
  if (c.amx && !codegen::RequestAmx().ok) return Why(codegen::RequestAmx().why);
  if (c.bf16 && !c.amx && !codegen::HostHasBF16Dot()) return Why("bf16 needs avx512_bf16");
  auto model = PresetModel(c.preset);
  if (!model.ok()) return Why(std::string(model.status().message()));
  ForwardOptions fo;
  fo.batch = model->batch_size;
  auto forward = model->forward(fo);
  if (!forward.ok()) return Why(std::string(forward.status().message()));
  passes::StepOptions so;
  if (c.bf16) so.gemm_dtype = ir::DType::kBF16;
  auto step = passes::BuildTrainStep(forward->graph, so);
  if (!step.ok()) return Why(std::string(step.status().message()));
  const ir::Op op = c.grad ? ir::Op::kCausalAttentionGrad : ir::Op::kCausalAttention;
  const ir::Node* node = nullptr;
  for (const ir::Node& n : step->nodes())
    if (n.op == op && !node) node = &n;
  if (!node) return Why("no fused attention in the step");
  const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(*step, *node);
  auto variants = Compiler().NumVariants(spec);
  if (!variants.ok()) return Why(std::string(variants.status().message()));
  auto kernel = Compiler().Build(spec, c.amx ? *variants - 1 : c.dot ? 1 : 0);
  if (!kernel.ok()) return Why(std::string(kernel.status().message()));
  if (c.amx && (*kernel)->schedule != "amx") return Why("no AMX variant at this shape");
  if (c.dot && (*kernel)->schedule != "halide bf16 dot") return Why("no bf16 dot variant here");
  codegen::KernelArgs args{(*kernel)->views, {}, (*kernel)->strides};
  for (const ir::TensorType& t : spec.inputs) args.dtypes.push_back(t.dtype);
  for (const ir::TensorType& t : spec.outputs) args.dtypes.push_back(t.dtype);
  auto timer = codegen::KernelTimer::Create(args);
  if (!timer.ok()) return Why(std::string(timer.status().message()));
  p.kernel = std::move(*kernel);
  p.timer = std::move(*timer);
  p.gflops = ModelFlops(*step, *node) / 2 / 1e9;  // the causal half
  return p;
}

void BM_Attention(benchmark::State& state, Case c) {
  static std::map<std::string, Prepared>* prepared = new std::map<std::string, Prepared>();
  const std::string key = absl::StrCat(c.preset, c.bf16, c.grad, c.amx, c.dot);
  auto it = prepared->find(key);
  if (it == prepared->end()) it = prepared->emplace(key, Prepare(c)).first;
  Prepared& p = it->second;
  if (!p.error.empty()) return state.SkipWithError(p.error.c_str());
  double seconds = 0;
  for (auto _ : state) {
    auto s = p.timer->Time(p.kernel->fn, 1);
    if (!s.ok()) return state.SkipWithError(std::string(s.status().message()).c_str());
    state.SetIterationTime(*s);
    seconds += *s;
  }
  const double rate = p.gflops * state.iterations() / seconds;
  state.counters["GFLOP/s"] = rate;
  state.counters["of_fp32_peak"] = rate / Fp32Peak();
  if (c.amx) state.counters["of_amx_peak"] = rate / AmxPeak();
}

void Register() {
  for (const char* preset : {"shakespeare-cpu", "baby", "gpt2"})
    for (bool grad : {false, true})
      for (const auto& [bf16, amx, name] :
           {std::tuple{false, false, "f32"}, std::tuple{true, false, "bf16 halide"},
            std::tuple{true, true, "bf16 amx"}})
        benchmark::RegisterBenchmark(
            absl::StrCat(grad ? "attention_grad " : "attention ", preset, " ", name).c_str(),
            BM_Attention, Case{preset, bf16, grad, amx})
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
  for (const char* preset : {"shakespeare-cpu", "baby", "gpt2"})
    for (bool grad : {false, true})
      benchmark::RegisterBenchmark(
          absl::StrCat(grad ? "attention_grad " : "attention ", preset, " bf16 dot").c_str(),
          BM_Attention, Case{preset, true, grad, false, true})
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
}

// Registered before Google Benchmark's own main() (benchmark::benchmark_main) runs them.
const bool kRegistered = (Register(), true);

}  // namespace
}  // namespace gptc
