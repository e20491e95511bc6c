// `gptc bench`: the compiled train step measured against this machine's peak: ms per step,
// model FLOP utilisation, GFLOP/s of every GEMM shape and form, and compile time cold and
// warm. Everything is measured in one run, so ratios are side by side.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/copy_bandwidth.h"
#include "bench/peak_flops.h"
#include "bench/sampling_speed.h"
#include "bench/step_compare.h"
#include "bench/step_flops.h"
#include "codegen/cpu_info.h"
#include "codegen/host_target.h"
#include "ir/printer.h"
#include "ir/rng.h"
#include "runtime/jit_backend.h"
#include "tools/bench_fusion.h"
#include "tools/commands.h"
#include "tools/compiler_flags.h"
#include "tools/fusion_flags.h"
#include "tools/model_flags.h"

namespace gptc::tools {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int PrintPlanCompare(const Model& cfg, const passes::StepOptions& step,
                     const codegen::CompilerOptions& co, int64_t steps) {
  passes::StepOptions planned = step, naive = step;
  planned.plan = true;
  naive.plan = false;
  auto c = CompareTrainSteps(cfg, planned, naive, co, static_cast<int>(steps));
  if (!c.ok()) return Fail(c.status());
  std::cout << absl::StrFormat(
      "plan (%s, B=%d): planned %.2f ms/step, %d kernel calls, temporaries %.1f MiB | one buffer "
      "per value %.2f ms/step, %d kernel calls, temporaries %.1f MiB | planned is %.3fx the "
      "speed; %d copy kernels removed\n",
      cfg.name, cfg.batch_size, 1e3 * c->seconds[0], c->kernel_calls[0],
      c->memory[0].planned_bytes / 1048576.0, 1e3 * c->seconds[1], c->kernel_calls[1],
      c->memory[1].naive_bytes / 1048576.0, c->seconds[1] / c->seconds[0],
      c->memory[1].copy_kernels - c->memory[0].copy_kernels);
  return 0;
}

int PrintPrecisionCompare(const Model& cfg, const passes::StepOptions& step,
                          const codegen::CompilerOptions& co, int64_t steps) {
  if (!codegen::HostHasBF16Dot())
    return Fail(absl::FailedPreconditionError(
        "--precision-compare needs a CPU with AVX512_BF16 (vdpbf16ps); this one lacks it"));
  passes::StepOptions fp32 = step, bf16 = step;
  fp32.gemm_dtype = ir::DType::kF32;
  bf16.gemm_dtype = ir::DType::kBF16;
  auto c = CompareTrainSteps(cfg, fp32, bf16, co, static_cast<int>(steps));
  if (!c.ok()) return Fail(c.status());
  std::cout << absl::StrFormat(
      "precision (%s, B=%d): fp32 %.2f ms/step (%d kernel calls), bf16 %.2f ms/step (%d kernel "
      "calls) -> bf16 is %.2fx the speed | quiet steps (kernels' fastest calls): fp32 %.2f ms, "
      "bf16 %.2f ms -> %.2fx | planned activations: fp32 %.1f MiB, bf16 %.1f MiB (%.0f%%)\n",
      cfg.name, cfg.batch_size, 1e3 * c->seconds[0], c->kernel_calls[0], 1e3 * c->seconds[1],
      c->kernel_calls[1], c->seconds[0] / c->seconds[1], 1e3 * c->quiet_seconds[0],
      1e3 * c->quiet_seconds[1], c->quiet_seconds[0] / c->quiet_seconds[1],
      c->memory[0].planned_bytes / 1048576.0, c->memory[1].planned_bytes / 1048576.0,
      100.0 * c->memory[1].planned_bytes / c->memory[0].planned_bytes);
  return 0;
}

int PrintSamplingSpeed(const Model& cfg, const codegen::CompilerOptions& co, int repeats) {
  auto speeds = MeasureSamplingSpeed(cfg, co, repeats);
  if (!speeds.ok()) return Fail(speeds.status());
  for (const SamplingSpeed& s : *speeds)
    std::cout << absl::StrFormat(
        "sampling (%s, %d tokens, 1-token prompt): KV cache %.0f tokens/s | recompute %.0f "
        "tokens/s | %.2fx\n",
        cfg.name, s.tokens, s.tokens / s.kv_cache_seconds, s.tokens / s.recompute_seconds,
        s.recompute_seconds / s.kv_cache_seconds);
  return 0;
}

// The n costliest kernels of the step, one line each: where a step's time goes kernel by
// kernel (the mean per step, and the fastest call: on a shared machine the mean carries the
// neighbours' load), with the bytes its operands and results take (a lower bound on what it
// moves), so that a bandwidth-bound kernel far from copy speed stands out.
void PrintCostliestKernels(const Executable& train, int64_t n) {
  const ir::Graph& g = train.graph();
  std::vector<Executable::KernelTime> kernels = train.Profile();
  std::sort(kernels.begin(), kernels.end(),
            [](const auto& a, const auto& b) { return a.SecondsPerCall() > b.SecondsPerCall(); });
  if (static_cast<int64_t>(kernels.size()) > n) kernels.resize(n);
  std::cout << absl::StrFormat("%-40s %-22s %9s %8s %9s %8s  %s\n", "kernel (first result)", "op",
                               "ms/step", "best ms", "MB", "GB/s", "schedule");
  for (const Executable::KernelTime& k : kernels) {
    const ir::Node& node = g.node(k.node_id);
    int64_t bytes = 0;
    for (ir::ValueId v : node.inputs) bytes += g.value(v).type.bytes();
    for (ir::ValueId v : node.outputs) bytes += g.value(v).type.bytes();
    const std::string name = node.outputs.empty() ? "" : g.value(node.outputs[0]).name;
    std::cout << absl::StrFormat("%-40s %-22s %9.3f %8.3f %9.2f %8.1f  %s\n", name.substr(0, 40),
                                 ir::OpName(node.op), 1e3 * k.SecondsPerCall(),
                                 1e3 * k.best_seconds, bytes / 1e6,
                                 bytes / k.SecondsPerCall() / 1e9, k.schedule);
  }
}

}  // namespace

int RunBench(const Args& args) {
  FlagSet flags("bench");
  AddModelFlags(flags, "shakespeare-cpu");
  flags.Int("steps", 30, "timed train steps (after 5 untimed)");
  flags.Bool("compile-time", true, "also measure cold and warm compile time (cold takes seconds)");
  AddCompilerFlags(flags);
  AddFusionFlags(flags);
  AddFusionBenchFlags(flags);
  flags.Bool("sampling", false,
             "tokens/s of sampling with the KV cache against recomputing the window");
  flags.Int("repeats", 3, "samples per path in --sampling (median reported)");
  flags.Bool("precision-compare", false,
             "the train step with fp32 GEMMs against bf16 ones (--precision=bf16), step by step "
             "in turn: ms/step and planned activation memory");
  flags.Int("kernels", 0,
            "also list the N costliest kernels of the step: ms per step, bytes read and written, "
            "GB/s (0: none)");
  flags.Bool("plan-compare", false,
             "time the planned train step against one buffer per value (--no-plan), interleaved");
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc bench [flags]\nTimes the compiled train step.\n\n" << flags.Usage();
    return 0;
  }
  auto cfg = ModelFromFlags(flags);
  if (!cfg.ok()) return Fail(cfg.status(), 2);
  if (flags.GetInt("steps") <= 0)
    return Fail(absl::InvalidArgumentError("--steps must be positive"), 2);
  if (flags.GetInt("kernels") < 0)
    return Fail(absl::InvalidArgumentError("--kernels must be 0 or more"), 2);
  const int hw = std::max(1u, std::thread::hardware_concurrency());
  const int threads = flags.GetInt("threads") > 0 ? static_cast<int>(flags.GetInt("threads")) : hw;

  const codegen::CompilerOptions co = CompilerOptionsFromFlags(flags);
  if (flags.GetBool("fusion")) return RunFusionBench(flags, co);
  if (flags.GetBool("sampling"))
    return PrintSamplingSpeed(*cfg, co,
                              static_cast<int>(std::max<int64_t>(1, flags.GetInt("repeats"))));
  auto step = StepOptionsFromFlags(flags);
  if (!step.ok()) return Fail(step.status(), 2);
  if (flags.GetBool("plan-compare"))
    return PrintPlanCompare(*cfg, *step, co, flags.GetInt("steps"));
  if (flags.GetBool("precision-compare"))
    return PrintPrecisionCompare(*cfg, *step, co, flags.GetInt("steps"));

  const double peak1 = MeasurePeakGflops(1);
  double fp32_peak = MeasurePeakGflops(threads);
  // On a shared virtual machine a core can be held by another guest for the whole
  // measurement, which halves the peak and doubles every MFU below: measure again once, and
  // say so if the threads still do not scale.
  auto scales = [&] { return threads == 1 || fp32_peak >= 0.75 * threads * peak1; };
  if (!scales()) fp32_peak = std::max(fp32_peak, MeasurePeakGflops(threads));
  const double bf16_peak = MeasureBf16PeakGflops(threads);
  const double amx_peak = MeasureAmxPeakGflops(threads);
  std::cout << absl::StrFormat(
      "machine: %s; fp32 FMA peak %.0f GFLOP/s on %d threads (%.0f on one)",
      codegen::HostCpu().model, fp32_peak, threads, peak1);
  if (bf16_peak > 0) std::cout << absl::StrFormat("; bf16 dot-product peak %.0f", bf16_peak);
  if (amx_peak > 0) std::cout << absl::StrFormat("; AMX bf16 tile peak %.0f", amx_peak);
  std::cout << "\n";
  if (amx_peak == 0) std::cout << codegen::RequestAmx().why << "\n";
  if (!scales())
    std::cout << absl::StrFormat(
        "warning: %d threads reached only %.1fx one thread's peak (twice measured): a core was "
        "busy elsewhere, so the MFU below is against too low a peak; run again when the machine "
        "is quiet\n",
        threads, fp32_peak / peak1);
  // A bf16 step's MFU is against the CPU's bf16 peak (AMX tiles where it has them, else
  // vdpbf16ps), as PaLM's MFU is against the accelerator's bf16 peak; each GEMM's and
  // attention's rate below against the peak of the unit its schedule runs on.
  const bool bf16 = step->gemm_dtype == ir::DType::kBF16;
  const double peak = bf16 ? std::max(bf16_peak, amx_peak) : fp32_peak;
  auto unit_peak = [&](const std::string& schedule) {
    if (absl::StartsWith(schedule, "amx") && amx_peak > 0) return amx_peak;
    if (absl::StrContains(schedule, "bf16 dot") && bf16_peak > 0) return bf16_peak;
    return fp32_peak;  // f32 FMA tiles (on f32 or widened bf16 operands), Halide attention
  };

  if (flags.GetBool("compile-time")) {
    const std::string tmp =
        absl::StrCat(std::filesystem::temp_directory_path().string(), "/gptc-bench-", getpid());
    codegen::CompilerOptions cold = co;
    cold.cache_dir = tmp;
    auto start = Clock::now();
    auto b1 = JitBackend::Create(*cfg, 1, *step, cold);
    if (!b1.ok()) return Fail(b1.status());
    const double cold_s = Seconds(start);
    const int kernels = (*b1)->compile_stats().compiled;
    b1->reset();
    start = Clock::now();
    auto b2 = JitBackend::Create(*cfg, 1, *step, cold);
    if (!b2.ok()) return Fail(b2.status());
    const double warm_s = Seconds(start);
    const double warm_kernels_s = (*b2)->compile_stats().seconds;
    std::filesystem::remove_all(tmp);
    // A start is the step graphs (passes), the kernels, and the parameters' initialisation
    // (10M normal draws at baby); only the kernels are compiling.
    std::cout << absl::StrFormat(
        "compile: cold %.2f s (%d distinct kernels), warm %.3f s (disk cache; of which loading "
        "and linking kernels %.3f s, the rest building the graphs and initialising parameters)\n",
        cold_s, kernels, warm_s, warm_kernels_s);
  }

  auto backend = JitBackend::Create(*cfg, 1, *step, co);
  if (!backend.ok()) return Fail(backend.status());
  const Batch batch = RandomBatch(cfg->batch_size, cfg->block_size, cfg->vocab, 1);
  for (int i = 0; i < 5; ++i)
    if (auto l = (*backend)->TrainStep(batch, 1e-4, i + 1); !l.ok()) return Fail(l.status());
  Executable& train = (*backend)->train();
  train.EnableProfiling(true);
  std::vector<double> times;
  for (int64_t i = 0; i < flags.GetInt("steps"); ++i) {
    const auto start = Clock::now();
    if (auto l = (*backend)->TrainStep(batch, 1e-4, i + 6); !l.ok()) return Fail(l.status());
    times.push_back(Seconds(start));
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const ir::Graph& g = train.graph();
  double flops = 0;
  for (const ir::Node& n : g.nodes()) flops += ModelFlops(g, n);
  std::cout << absl::StrFormat(
      "train step (%s, B=%d, T=%d): median %.2f ms, min %.2f ms over %d steps; %d kernel calls\n"
      "model FLOPs per step (matmuls, attention's in full) %.3f G -> %.1f GFLOP/s = %.1f%% of "
      "peak (MFU)\n",
      cfg->name, cfg->batch_size, cfg->block_size, 1e3 * median, 1e3 * times[0], times.size(),
      train.num_kernel_calls(), flops / 1e9, flops / median / 1e9,
      100 * flops / median / 1e9 / peak);

  // GEMMs by shape and form, from the profile of the timed steps.
  struct Gemm {
    double seconds = 0, flops = 0;
    std::string schedule;
  };
  std::map<std::string, Gemm> gemm;
  std::map<std::string, std::pair<double, int>> kinds;  // seconds per step and kernels, by kind
  std::map<std::string, std::pair<double, int>> other;  // the same for "other", by op
  double gemm_s = 0, all_s = 0;
  for (const Executable::KernelTime& kt : train.Profile()) {
    const ir::Node& n = g.node(kt.node_id);
    const double per_step = kt.SecondsPerCall();
    all_s += per_step;
    const std::string kind_name = KernelKind(g, n);
    auto& kind = kinds[kind_name];
    kind.first += per_step;
    kind.second += 1;
    if (kind_name == "other") {
      auto& o = other[ir::OpName(n.op)];
      o.first += per_step;
      o.second += 1;
    }
    if (!IsGemm(n.op) && !IsAttention(n.op)) continue;
    Gemm& e = gemm[IsAttention(n.op) ? absl::StrCat(ir::OpName(n.op), " ",
                                                    ir::TypeToString(g.value(n.inputs[0]).type))
                                     : GemmKey(g, n)];
    e.seconds += per_step;
    e.flops += ModelFlops(g, n);
    e.schedule = kt.schedule;
    gemm_s += per_step;
  }
  std::cout << absl::StrFormat(
      "kernels: %.2f ms per step, of which GEMM and fused attention %.2f ms (%.0f%%)\n",
      1e3 * all_s, 1e3 * gemm_s, 100 * gemm_s / all_s);
  // An MFU that holds still on a shared machine whose medians move 10-30% from run to run.
  const double quiet_s = train.QuietStepSeconds();
  std::cout << absl::StrFormat(
      "kernels' fastest calls: %.2f ms per step -> %.1f%% of peak (MFU of the quiet step)\n",
      1e3 * quiet_s, 100 * flops / quiet_s / 1e9 / peak);
  std::cout << "by kind (ms per step, kernels):";
  for (const auto& [kind, v] : kinds)
    std::cout << absl::StrFormat("  %s %.2f (%d)", kind, 1e3 * v.first, v.second);
  std::cout << "\n";
  // Where the rest goes: the costliest ops outside GEMMs, attention and the optimizer (casts,
  // norms, elementwise fusions, layout copies).
  std::vector<std::pair<double, std::string>> by_op;
  for (const auto& [op, v] : other)
    by_op.emplace_back(v.first, absl::StrFormat("  %s %.2f (%d)", op, 1e3 * v.first, v.second));
  std::sort(by_op.rbegin(), by_op.rend());
  if (by_op.size() > 8) by_op.resize(8);
  if (!by_op.empty()) {
    std::cout << "other by op (ms per step, kernels):";
    for (const auto& e : by_op) std::cout << e.second;
    std::cout << "\n";
  }
  // The optimizer against a copy of the same bytes (p, grad, m, v read; p, m, v written).
  int64_t params = 0;
  bool one_kernel = false;
  for (const ir::Node& n : g.nodes())
    if (n.op == ir::Op::kAdamW) {
      one_kernel = true;
      for (size_t i = 2; i < n.inputs.size(); i += 4)
        params += g.value(n.inputs[i]).type.num_elements();
    }
  if (one_kernel && kinds.count("optimizer")) {
    const int64_t bytes = 28 * params;
    // In a step the optimizer's operands were evicted by the forward and backward passes, so
    // the copy starts from a cold cache too.
    const double opt_s = kinds["optimizer"].first, copy_s = ColdCopySeconds(bytes, 15);
    std::cout << absl::StrFormat(
        "optimizer: one adamw kernel, %d parameters, %.1f MB moved in %.3f ms = %.1f GB/s; a copy "
        "of as many bytes from a cold cache %.1f GB/s: %.0f%% of copy bandwidth\n",
        params, bytes / 1e6, 1e3 * opt_s, bytes / opt_s / 1e9, bytes / copy_s / 1e9,
        100 * copy_s / opt_s);
  }
  std::cout << absl::StrFormat("%-48s %9s %9s %7s  %s\n", "GEMM (lhs x rhs, form) or attention",
                               "ms/step", "GFLOP/s", "%unit", "schedule (tile, nest)");
  for (const auto& [key, v] : gemm)
    std::cout << absl::StrFormat(
        "%-48s %9.3f %9.1f %6.1f%%  %s\n", key, 1e3 * v.seconds, v.flops / v.seconds / 1e9,
        100 * v.flops / v.seconds / 1e9 / unit_peak(v.schedule), v.schedule);
  std::cout << "%unit: of the peak measured for the unit the schedule runs on (AMX tiles, "
               "vdpbf16ps, f32 FMA); attention's FLOPs in full\n";
  if (flags.GetInt("kernels") > 0) PrintCostliestKernels(train, flags.GetInt("kernels"));
  return 0;
}

}  // namespace gptc::tools
