// Google Benchmark of fusion: for each preset (--presets=shakespeare-cpu,baby by default, a
// flag of this binary read before Google Benchmark's own), every fused node kind of the
// preset's train step as one fused kernel and as its unfused ops, and the whole train step
// with fusion on and off. Reports bytes/s and, for fused kernels, the speedup counter.
//
//   build/bench/fusion_bench --benchmark_format=json --benchmark_out=fusion.json
//   python3 scripts/plot_fusion.py fusion.json fusion.png
//
// `gptc bench --fusion` measures the same cases and adds copy-bandwidth fractions; this
// binary is for Google Benchmark's statistics (repetitions, aggregates, comparisons).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "codegen/kernel_compiler.h"
#include "frontend/model_registry.h"
#include "ir/check.h"
#include "ir/rng.h"
#include "passes/fusion_cases.h"
#include "passes/train_graphs.h"
#include "runtime/executable.h"
#include "runtime/jit_backend.h"

namespace gptc {
namespace {

codegen::KernelCompiler& Compiler() {
  static codegen::KernelCompiler* kc = [] {
    auto c = codegen::KernelCompiler::Create();
    GPTC_CHECK(c.ok()) << c.status();
    return c->release();
  }();
  return *kc;
}

// An executable of g with inputs in [0.5, 1.5) (integers 0), kept alive for the benchmark.
struct Prepared {
  StateStore store;
  std::unique_ptr<Executable> ex;
};

std::shared_ptr<Prepared> Prepare(const ir::Graph& g) {
  auto p = std::make_shared<Prepared>();
  auto ex = Executable::Create(g, Compiler(), p->store);
  GPTC_CHECK(ex.ok()) << ex.status();
  p->ex = *std::move(ex);
  Rng rng(1);
  for (ir::ValueId v : g.Inputs()) {
    ir::Literal lit(g.value(v).type);
    if (lit.type.dtype == ir::DType::kF32)
      for (double& x : lit.data) x = 0.5 + rng.Uniform();
    GPTC_CHECK(p->ex->SetInput(g.value(v).name, lit).ok());
  }
  return p;
}

void RegisterCases(const Model& cfg) {
  auto model = cfg.forward({.batch = cfg.batch_size, .training = true});
  GPTC_CHECK(model.ok()) << model.status();
  auto train = passes::BuildTrainStep(model->graph);
  GPTC_CHECK(train.ok()) << train.status();
  for (const passes::FusionCase& c : passes::FusionCases(*train)) {
    for (bool fused : {false, true}) {
      const std::string name =
          "BM_Fusion/" + cfg.name + "/" + c.name + (fused ? "/fused" : "/unfused");
      const ir::Graph g = fused ? c.fused : c.unfused;
      const int64_t bytes = fused ? c.fused_bytes : c.unfused_bytes;
      benchmark::RegisterBenchmark(
          name.c_str(),
          [g, bytes](benchmark::State& state) {
            static std::shared_ptr<Prepared> keep;  // one executable at a time
            keep = Prepare(g);
            for (auto _ : state) GPTC_CHECK(keep->ex->Step().ok());
            state.SetBytesProcessed(state.iterations() * bytes);
            keep.reset();
          })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
  for (bool fused : {false, true}) {
    const std::string name = "BM_TrainStep/" + cfg.name + (fused ? "/fused" : "/unfused");
    benchmark::RegisterBenchmark(
        name.c_str(),
        [cfg, fused](benchmark::State& state) {
          passes::StepOptions o;
          o.fuse = fused;
          auto b = JitBackend::Create(cfg, 1, o);
          GPTC_CHECK(b.ok()) << b.status();
          const Batch batch = RandomBatch(cfg.batch_size, cfg.block_size, cfg.vocab, 1);
          int64_t step = 1;
          for (auto _ : state) GPTC_CHECK((*b)->TrainStep(batch, 1e-4, step++).ok());
          state.counters["kernel_calls"] = (*b)->train().num_kernel_calls();
        })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

}  // namespace
}  // namespace gptc

int main(int argc, char** argv) {
  std::string presets = "shakespeare-cpu,baby";
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--presets=", 10) == 0) {
      presets = argv[i] + 10;
    } else {
      rest.push_back(argv[i]);
    }
  }
  for (absl::string_view name : absl::StrSplit(presets, ',', absl::SkipEmpty())) {
    auto cfg = gptc::PresetModel(std::string(name));
    if (!cfg.ok()) {
      std::fprintf(stderr, "fusion_bench: %s\n", std::string(cfg.status().message()).c_str());
      return 2;
    }
    gptc::RegisterCases(*cfg);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
