// `gptc bench --fusion`: what each fusion pattern buys, at the shapes of each preset. For
// every fused node kind in the preset's train step, its unfused ops (one kernel each) are
// timed against the fused kernel on the same inputs, with bytes moved, achieved bandwidth
// against a plain copy of the same number of bytes timed alongside (the memory-bound ideal
// at that working set), and the largest difference between the two results; then the whole
// train step with fusion on and off.
// Everything is measured in one run; --json writes it through Google Benchmark's JSON
// reporter for scripts/plot_fusion.py.
#include "tools/bench_fusion.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/copy_bandwidth.h"
#include "bench/fusion_timing.h"
#include "frontend/nn/gpt.h"
#include "ir/rng.h"
#include "ir/status_macros.h"
#include "passes/fusion_cases.h"
#include "passes/train_graphs.h"
#include "runtime/jit_backend.h"
#include "tools/model_flags.h"

namespace gptc::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Row {  // one benchmark entry of the JSON
  std::string name;
  double seconds;
  int64_t bytes;
  std::vector<std::pair<std::string, double>> counters;
};

// The rows through Google Benchmark's own JSON reporter (the same format as
// build/bench/fusion_bench --benchmark_format=json, which scripts/plot_fusion.py reads); the
// copy bandwidths go into the context.
absl::Status WriteJson(const std::string& path, const std::vector<Row>& rows,
                       const std::vector<CopyBandwidth>& bw, int runs) {
  std::ofstream out(path);
  if (!out) return absl::InvalidArgumentError("cannot write JSON file '" + path + "'");
  for (const CopyBandwidth& l : bw)
    benchmark::AddCustomContext(absl::StrCat("copy_gbps_", l.level),
                                absl::StrFormat("%.2f", l.gbytes_per_s));
  benchmark::JSONReporter reporter;
  reporter.SetOutputStream(&out);
  reporter.SetErrorStream(&std::cerr);
  benchmark::BenchmarkReporter::Context::executable_name = "gptc bench --fusion";
  if (!reporter.ReportContext(benchmark::BenchmarkReporter::Context()))
    return absl::InternalError("Google Benchmark's JSON reporter refused the context");
  std::vector<benchmark::BenchmarkReporter::Run> report;
  for (const Row& r : rows) {
    benchmark::BenchmarkReporter::Run run;  // (some fields have no default: all are set)
    run.run_name.function_name = r.name;
    run.family_index = static_cast<int64_t>(report.size());
    run.per_family_instance_index = 0;
    run.repetitions = 1;
    run.repetition_index = 0;
    run.threads = 1;
    run.run_type = benchmark::BenchmarkReporter::Run::RT_Iteration;
    run.iterations = runs;
    run.time_unit = benchmark::kMicrosecond;
    run.real_accumulated_time = r.seconds * runs;  // reported per iteration
    run.cpu_accumulated_time = r.seconds * runs;
    if (r.bytes > 0)
      run.counters["bytes_per_second"] =
          benchmark::Counter(static_cast<double>(r.bytes) / r.seconds);
    for (const auto& [k, v] : r.counters) run.counters[k] = benchmark::Counter(v);
    report.push_back(run);
  }
  reporter.ReportRuns(report);
  reporter.Finalize();
  out.close();
  if (!out) return absl::InvalidArgumentError("cannot write JSON file '" + path + "'");
  return absl::OkStatus();
}

// Median ms per step of the train step with and without fusion, interleaved step by step.
absl::Status WholeStep(const GptConfig& cfg, const codegen::CompilerOptions& co, int steps,
                       std::vector<Row>& rows) {
  passes::StepOptions on, off;
  off.fuse = false;
  ASSIGN_OR_RETURN(std::unique_ptr<JitBackend> fused, JitBackend::Create(cfg, 1, on, co));
  ASSIGN_OR_RETURN(std::unique_ptr<JitBackend> unfused, JitBackend::Create(cfg, 1, off, co));
  const Batch batch = RandomBatch(cfg.batch_size, cfg.block_size, cfg.vocab, 1);
  std::vector<double> tf, tu;
  for (int i = -3; i < steps; ++i) {  // 3 untimed warm-up steps
    for (JitBackend* b : {fused.get(), unfused.get()}) {
      const auto start = Clock::now();
      RETURN_IF_ERROR(b->TrainStep(batch, 1e-4, i + 4).status());
      if (i >= 0)
        (b == fused.get() ? tf : tu)
            .push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
  }
  std::sort(tf.begin(), tf.end());
  std::sort(tu.begin(), tu.end());
  const double f = tf[tf.size() / 2], u = tu[tu.size() / 2];
  std::cout << absl::StrFormat(
      "whole train step: fused %.2f ms (%d kernel calls), unfused %.2f ms (%d kernel calls) -> "
      "%.2fx\n",
      1e3 * f, fused->train().num_kernel_calls(), 1e3 * u, unfused->train().num_kernel_calls(),
      u / f);
  rows.push_back(
      {absl::StrCat("BM_TrainStep/", cfg.name, "/fused"),
       f,
       0,
       {{"kernel_calls", double(fused->train().num_kernel_calls())}, {"speedup", u / f}}});
  rows.push_back({absl::StrCat("BM_TrainStep/", cfg.name, "/unfused"),
                  u,
                  0,
                  {{"kernel_calls", double(unfused->train().num_kernel_calls())}}});
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
  std::vector<GptConfig> configs;
  for (absl::string_view name :
       absl::StrSplit(flags.GetString("configs"), ',', absl::SkipEmpty())) {
    auto cfg = PresetConfig(std::string(name));
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
  std::vector<Row> rows;
  for (const GptConfig& cfg : configs) {
    std::cout << absl::StrFormat("\n== %s (B=%d, T=%d, C=%d, heads %d, layers %d)\n", cfg.name,
                                 cfg.batch_size, cfg.block_size, cfg.n_embd, cfg.n_head,
                                 cfg.n_layer);
    auto model = nn::BuildGpt(cfg);
    if (!model.ok()) return Fail(model.status());
    auto train = passes::BuildTrainStep(model->graph);
    if (!train.ok()) return Fail(train.status());
    std::cout << absl::StrFormat("%-26s %-16s %14s %10s %8s %9s %7s %9s %7s %9s\n", "fused op",
                                 "first at", "unfused ms (k)", "fused ms", "speedup", "MB moved",
                                 "GB/s", "copy ms", "% copy", "max|diff|");
    for (const passes::FusionCase& c : passes::FusionCases(*train)) {
      auto t = TimeFusionCase(c, **compiler, runs);
      if (!t.ok()) return Fail(t.status());
      const double gbps = c.fused_bytes / t->fused_seconds / 1e9;
      const double speedup = t->unfused_seconds / t->fused_seconds;
      // The fused kernel against a plain copy of the same bytes, timed alongside it.
      const double copy_fraction = t->copy_seconds / t->fused_seconds;
      std::cout << absl::StrFormat(
          "%-26s %-16s %9.4f (%d) %10.4f %7.2fx %9.2f %7.1f %9.4f %6.0f%% %9.2g\n", c.name,
          c.where.substr(0, 16), 1e3 * t->unfused_seconds, t->unfused_kernels,
          1e3 * t->fused_seconds, speedup, c.fused_bytes / 1e6, gbps, 1e3 * t->copy_seconds,
          100 * copy_fraction, t->max_abs_diff);
      const std::string base = absl::StrCat("BM_Fusion/", cfg.name, "/", c.name);
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
    if (absl::Status s = WholeStep(cfg, co, std::max(5, runs / 5), rows); !s.ok()) return Fail(s);
  }
  if (const std::string path = flags.GetString("json"); !path.empty()) {
    if (absl::Status st = WriteJson(path, rows, bw, runs); !st.ok()) return Fail(st);
    std::cout << "\nwrote " << path << " (plot it with: python3 scripts/plot_fusion.py " << path
              << " fusion.png)\n";
  }
  return 0;
}

}  // namespace gptc::tools
