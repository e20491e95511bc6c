// `gptc bench`: the compiled train step measured against this machine's peak: ms per step,
// model FLOP utilisation, GFLOP/s of every GEMM shape and form, and compile time cold and
// warm. Everything is measured in one run, so ratios are side by side.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/copy_bandwidth.h"
#include "bench/peak_flops.h"
#include "ir/printer.h"
#include "ir/rng.h"
#include "runtime/jit_backend.h"
#include "tools/bench_fusion.h"
#include "tools/bench_plan.h"
#include "tools/bench_sampling.h"
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

bool IsGemm(ir::Op op) { return op == ir::Op::kMatMul || op == ir::Op::kMatMulBias; }

// 2*M*N*K for a matmul node (batch included; with its bias, if fused), 0 for anything else.
double MatMulFlops(const ir::Graph& g, const ir::Node& n) {
  if (!IsGemm(n.op)) return 0;
  const ir::Shape& a = g.value(n.inputs[0]).type.shape;
  const ir::Shape& out = g.value(n.outputs[0]).type.shape;
  const int64_t k = *n.attrs.GetBool("transpose_a") ? a[a.size() - 2] : a.back();
  return 2.0 * static_cast<double>(ir::NumElements(out)) * static_cast<double>(k);
}

bool IsAttention(ir::Op op) {
  return op == ir::Op::kCausalAttention || op == ir::Op::kCausalAttentionGrad;
}

// The model FLOPs of a node: a GEMM's, or the GEMMs of a fused attention's body counted in
// full, as if the masked half of the scores were computed (nanoGPT's and PaLM's MFU count
// them so; the kernel skips them, so its own rate in these units can exceed the peak).
double ModelFlops(const ir::Graph& g, const ir::Node& n) {
  if (!IsAttention(n.op)) return MatMulFlops(g, n);
  double f = 0;
  for (const ir::Node& b : n.body->nodes()) f += MatMulFlops(*n.body, b);
  return f;
}

// What a kernel is for, for the per-kind summary: gemm, attention, optimizer (AdamW's
// updates and its gradient-norm reductions, all named adamw.*), or other.
std::string KernelKind(const ir::Graph& g, const ir::Node& n) {
  if (IsGemm(n.op)) return "gemm";
  if (IsAttention(n.op)) return "attention";
  if (absl::StartsWith(g.value(n.outputs[0]).name, "adamw.") ||
      (n.op == ir::Op::kFusion && *n.attrs.GetString("pattern") == "adamw"))
    return "optimizer";
  return "other";
}

std::string GemmKey(const ir::Graph& g, const ir::Node& n) {
  std::string form = *n.attrs.GetBool("transpose_a") ? "A^T" : "A";
  form += *n.attrs.GetBool("transpose_b") ? ".B^T" : ".B";
  if (n.op == ir::Op::kMatMulBias) form += " +bias";
  return absl::StrCat(ir::TypeToString(g.value(n.inputs[0]).type), " x ",
                      ir::TypeToString(g.value(n.inputs[1]).type), " ", form);
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
  flags.Bool("plan-compare", false,
             "time the planned train step against one buffer per value (--no-plan), interleaved");
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc bench [flags]\nTimes the compiled train step.\n\n" << flags.Usage();
    return 0;
  }
  auto cfg = ConfigFromFlags(flags);
  if (!cfg.ok()) return Fail(cfg.status(), 2);
  if (flags.GetInt("steps") <= 0)
    return Fail(absl::InvalidArgumentError("--steps must be positive"), 2);
  const int hw = std::max(1u, std::thread::hardware_concurrency());
  const int threads = flags.GetInt("threads") > 0 ? static_cast<int>(flags.GetInt("threads")) : hw;

  const codegen::CompilerOptions co = CompilerOptionsFromFlags(flags);
  if (flags.GetBool("fusion")) return RunFusionBench(flags, co);
  if (flags.GetBool("sampling"))
    return RunSamplingBench(*cfg, co, std::max<int64_t>(1, flags.GetInt("repeats")));
  auto step = StepOptionsFromFlags(flags);
  if (!step.ok()) return Fail(step.status(), 2);
  if (flags.GetBool("plan-compare")) return RunPlanBench(*cfg, *step, co, flags.GetInt("steps"));

  const double peak1 = MeasurePeakGflops(1), peak = MeasurePeakGflops(threads);
  std::cout << absl::StrFormat("machine: fp32 FMA peak %.0f GFLOP/s on %d threads (%.0f on one)\n",
                               peak, threads, peak1);

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
  double gemm_s = 0, all_s = 0;
  for (const Executable::KernelTime& kt : train.Profile()) {
    const ir::Node& n = g.node(kt.node_id);
    const double per_step = kt.seconds / std::max<int64_t>(1, kt.calls);
    all_s += per_step;
    auto& kind = kinds[KernelKind(g, n)];
    kind.first += per_step;
    kind.second += 1;
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
  std::cout << "by kind (ms per step, kernels):";
  for (const auto& [kind, v] : kinds)
    std::cout << absl::StrFormat("  %s %.2f (%d)", kind, 1e3 * v.first, v.second);
  std::cout << "\n";
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
    CopyProbe copy(bytes);
    std::vector<double> tc;
    // In a step the optimizer's operands were evicted by the forward and backward passes, so
    // the copy starts from a cold cache too (128 MB written in between).
    std::vector<char> evict(size_t{128} << 20);
    for (int r = 0; r < 15; ++r) {
      std::memset(evict.data(), r, evict.size());
      const auto start = Clock::now();
      copy.Run();
      tc.push_back(Seconds(start));
    }
    std::sort(tc.begin(), tc.end());
    const double opt_s = kinds["optimizer"].first, copy_s = tc[tc.size() / 2];
    std::cout << absl::StrFormat(
        "optimizer: one adamw kernel, %d parameters, %.1f MB moved in %.3f ms = %.1f GB/s; a copy "
        "of as many bytes from a cold cache %.1f GB/s: %.0f%% of copy bandwidth\n",
        params, bytes / 1e6, 1e3 * opt_s, bytes / opt_s / 1e9, bytes / copy_s / 1e9,
        100 * copy_s / opt_s);
  }
  std::cout << absl::StrFormat("%-48s %9s %9s %7s  %s\n", "GEMM (lhs x rhs, form) or attention",
                               "ms/step", "GFLOP/s", "%peak", "schedule (tile, nest)");
  for (const auto& [key, v] : gemm)
    std::cout << absl::StrFormat("%-48s %9.3f %9.1f %6.1f%%  %s\n", key, 1e3 * v.seconds,
                                 v.flops / v.seconds / 1e9, 100 * v.flops / v.seconds / 1e9 / peak,
                                 v.schedule);
  return 0;
}

}  // namespace gptc::tools
