#include "tools/bench_plan.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "absl/strings/str_format.h"
#include "ir/rng.h"
#include "passes/plan_report.h"
#include "runtime/jit_backend.h"
#include "tools/model_flags.h"

namespace gptc::tools {

int RunPlanBench(const GptConfig& cfg, const passes::StepOptions& step,
                 const codegen::CompilerOptions& co, int64_t steps) {
  passes::StepOptions planned = step, naive = step;
  planned.plan = true;
  naive.plan = false;
  auto a = JitBackend::Create(cfg, 1, planned, co);
  if (!a.ok()) return Fail(a.status());
  auto b = JitBackend::Create(cfg, 1, naive, co);
  if (!b.ok()) return Fail(b.status());
  const Batch batch = RandomBatch(cfg.batch_size, cfg.block_size, cfg.vocab, 1);
  JitBackend* backends[2] = {a->get(), b->get()};
  std::vector<double> times[2];
  for (int64_t i = 0; i < steps + 3; ++i)
    for (int k = 0; k < 2; ++k) {  // interleaved, so load on the machine hits both alike
      const auto start = std::chrono::steady_clock::now();
      if (auto l = backends[k]->TrainStep(batch, 1e-4, i + 1); !l.ok()) return Fail(l.status());
      if (i >= 3)
        times[k].push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  double median[2];
  for (int k = 0; k < 2; ++k) {
    std::sort(times[k].begin(), times[k].end());
    median[k] = times[k][times[k].size() / 2];
  }
  const passes::MemoryReport rp = passes::AnalyzePlan((*a)->train().graph());
  const passes::MemoryReport rn = passes::AnalyzePlan((*b)->train().graph());
  std::cout << absl::StrFormat(
      "plan (%s, B=%d): planned %.2f ms/step, %d kernel calls, temporaries %.1f MiB | one buffer "
      "per value %.2f "
      "ms/step, %d kernel calls, temporaries %.1f MiB | planned is %.3fx the speed; %d copy "
      "kernels removed\n",
      cfg.name, cfg.batch_size, 1e3 * median[0], (*a)->train().num_kernel_calls(),
      rp.planned_bytes / 1048576.0, 1e3 * median[1], (*b)->train().num_kernel_calls(),
      rn.naive_bytes / 1048576.0, median[1] / median[0], rn.copy_kernels - rp.copy_kernels);
  return 0;
}

}  // namespace gptc::tools
