// `gptc bench --fusion`: what each fusion pattern buys, at the shapes of each preset. For
// every fused node kind in the preset's train step, its unfused ops (one kernel each) are
// timed against the fused kernel on the same inputs, with bytes moved, achieved bandwidth
// against a plain copy of the same number of bytes timed alongside (the memory-bound ideal
// at that working set), and the largest difference between the two results; then the whole
// train step with fusion on and off.
// Everything is measured in one run; --json writes it through Google Benchmark's JSON
// reporter for scripts/plot_fusion.py.
#include "tools/bench_fusion.h"

#include <algorithm>
#include <iostream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/benchmark_json.h"
#include "bench/copy_bandwidth.h"
#include "bench/fusion_timing.h"
#include "bench/rule_fusion_graph.h"
#include "bench/step_compare.h"
#include "frontend/model_registry.h"
#include "ir/status_macros.h"
#include "passes/fuse.h"
#include "passes/fusion_cases.h"
#include "passes/train_graphs.h"
#include "tools/model_flags.h"

namespace gptc::tools {
namespace {

// The whole train step with fusion on and off, as two rows.
absl::Status WholeStep(const Model& cfg, const codegen::CompilerOptions& co, int steps,
                       std::vector<BenchRow>& rows) {
  passes::StepOptions on, off;
  off.fuse = false;
  ASSIGN_OR_RETURN(StepComparison c, CompareTrainSteps(cfg, on, off, co, steps));
  const double f = c.seconds[0], u = c.seconds[1];
  std::cout << absl::StrFormat(
      "whole train step: fused %.2f ms (%d kernel calls), unfused %.2f ms (%d kernel calls) -> "
      "%.2fx\n",
      1e3 * f, c.kernel_calls[0], 1e3 * u, c.kernel_calls[1], u / f);
  rows.push_back({absl::StrCat("BM_TrainStep/", cfg.name, "/fused"),
                  f,
                  0,
                  {{"kernel_calls", double(c.kernel_calls[0])}, {"speedup", u / f}}});
  rows.push_back({absl::StrCat("BM_TrainStep/", cfg.name, "/unfused"),
                  u,
                  0,
                  {{"kernel_calls", double(c.kernel_calls[1])}}});
  return absl::OkStatus();
}

// Times each case fused against unfused and prints one line per case (see the header).
absl::Status TimeCases(const std::vector<passes::FusionCase>& cases, const std::string& prefix,
                       codegen::KernelCompiler& compiler, int runs, std::vector<BenchRow>& rows) {
  std::cout << absl::StrFormat("%-26s %-16s %14s %10s %8s %9s %7s %9s %7s %9s\n", "fused op",
                               "first at", "unfused ms (k)", "fused ms", "speedup", "MB moved",
                               "GB/s", "copy ms", "% copy", "max|diff|");
  for (const passes::FusionCase& c : cases) {
    auto t = TimeFusionCase(c, compiler, runs);
    if (!t.ok()) return t.status();
    const double gbps = c.fused_bytes / t->fused_seconds / 1e9;
    const double speedup = t->unfused_seconds / t->fused_seconds;
    // The fused kernel against a plain copy of the same bytes, timed alongside it.
    const double copy_fraction = t->copy_seconds / t->fused_seconds;
    std::cout << absl::StrFormat(
        "%-26s %-16s %9.4f (%d) %10.4f %7.2fx %9.2f %7.1f %9.4f %6.0f%% %9.2g\n", c.name,
        c.where.substr(0, 16), 1e3 * t->unfused_seconds, t->unfused_kernels, 1e3 * t->fused_seconds,
        speedup, c.fused_bytes / 1e6, gbps, 1e3 * t->copy_seconds, 100 * copy_fraction,
        t->max_abs_diff);
    const std::string base = absl::StrCat("BM_Fusion/", prefix, "/", c.name);
    rows.push_back({base + "/fused",
                    t->fused_seconds,
                    c.fused_bytes,
                    {{"speedup", speedup},
                     {"copy_fraction", copy_fraction},
                     {"max_abs_diff", t->max_abs_diff}}});
    rows.push_back({base + "/unfused",
                    t->unfused_seconds,
                    c.unfused_bytes,
                    {{"kernels", double(t->unfused_kernels)}}});
  }
  return absl::OkStatus();
}

}  // namespace

void AddFusionBenchFlags(FlagSet& flags) {
  flags.Bool("fusion", false,
             "benchmark every fusion pattern fused vs unfused, and the step with fusion on vs off");
  flags.String("configs", "shakespeare-cpu,baby", "--fusion: presets whose shapes to benchmark");
  flags.Int("runs", 50, "--fusion: timed runs per kernel sequence");
  flags.String("json", "",
               "--fusion: also write the results as Google Benchmark JSON to this file");
}

int RunFusionBench(const FlagSet& flags, const codegen::CompilerOptions& co) {
  const int threads = co.threads > 0
                          ? co.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int runs = static_cast<int>(flags.GetInt("runs"));
  if (runs <= 0) return Fail(absl::InvalidArgumentError("--runs must be positive"), 2);
  std::vector<Model> configs;
  for (absl::string_view name :
       absl::StrSplit(flags.GetString("configs"), ',', absl::SkipEmpty())) {
    auto cfg = PresetModel(std::string(name));
    if (!cfg.ok()) return Fail(cfg.status(), 2);
    configs.push_back(*cfg);
  }
  const std::vector<CopyBandwidth> bw = MeasureCopyBandwidth(threads);
  std::cout << "copy bandwidth (read + write) on " << threads << " threads:";
  for (const CopyBandwidth& l : bw)
    std::cout << absl::StrFormat("  %s (%s) %.0f GB/s", l.level,
                                 l.working_set >= (1 << 20)
                                     ? absl::StrCat(l.working_set >> 20, " MB")
                                     : absl::StrCat(l.working_set >> 10, " KB"),
                                 l.gbytes_per_s);
  std::cout << "\n";
  auto compiler = codegen::KernelCompiler::Create(co);
  if (!compiler.ok()) return Fail(compiler.status());
  std::vector<BenchRow> rows;
  for (const Model& cfg : configs) {
    std::cout << "\n== " << cfg.Summary() << "\n";
    auto model = cfg.forward({.batch = cfg.batch_size, .training = true});
    if (!model.ok()) return Fail(model.status());
    auto train = passes::BuildTrainStep(model->graph);
    if (!train.ok()) return Fail(train.status());
    if (absl::Status st = TimeCases(passes::FusionCases(*train), cfg.name, **compiler, runs, rows);
        !st.ok())
      return Fail(st);
    // Kernels the generic rule makes of blocks written from primitives (no named pattern),
    // at this preset's rows: tokens x n_embd, and rows of block_size keys.
    auto width = ConfigInt(cfg.config, "n_embd");
    if (!width.ok()) return Fail(width.status());
    auto blocks = RuleFusionGraph(cfg.batch_size * cfg.block_size, *width, cfg.block_size);
    if (!blocks.ok()) return Fail(blocks.status());
    auto fused = passes::Fuse(*blocks);
    if (!fused.ok()) return Fail(fused.status());
    std::cout << "rule-made kernels of an RMSNorm, a SwiGLU and a softmax written from primitives, "
                 "forward and backward:\n";
    if (absl::Status st = TimeCases(passes::FusionCases(*fused, /*every=*/true), cfg.name + "/rule",
                                    **compiler, runs, rows);
        !st.ok())
      return Fail(st);
    if (absl::Status s = WholeStep(cfg, co, std::max(5, runs / 5), rows); !s.ok()) return Fail(s);
  }
  if (const std::string path = flags.GetString("json"); !path.empty()) {
    std::vector<std::pair<std::string, std::string>> context;
    for (const CopyBandwidth& l : bw)
      context.emplace_back(absl::StrCat("copy_gbps_", l.level),
                           absl::StrFormat("%.2f", l.gbytes_per_s));
    if (absl::Status st = WriteBenchmarkJson(path, "gptc bench --fusion", rows, context, runs);
        !st.ok())
      return Fail(st);
    std::cout << "\nwrote " << path << " (plot it with: python3 scripts/plot_fusion.py " << path
              << " fusion.png)\n";
  }
  return 0;
}

}  // namespace gptc::tools
