#include "bench/step_compare.h"

#include "bench/interleaved.h"
#include "ir/status_macros.h"
#include "runtime/jit_backend.h"

namespace gptc {

absl::StatusOr<StepComparison> CompareTrainSteps(const Model& cfg, const passes::StepOptions& a,
                                                 const passes::StepOptions& b,
                                                 const codegen::CompilerOptions& co, int steps) {
  std::unique_ptr<JitBackend> backends[2];
  ASSIGN_OR_RETURN(backends[0], JitBackend::Create(cfg, 1, a, co));
  ASSIGN_OR_RETURN(backends[1], JitBackend::Create(cfg, 1, b, co));
  const Batch batch = RandomBatch(cfg.batch_size, cfg.block_size, cfg.vocab, 1);
  for (auto& backend : backends) backend->train().EnableProfiling(true);
  ASSIGN_OR_RETURN(std::vector<double> medians, InterleavedMedians(2, 3, steps, [&](int k, int i) {
                     return backends[k]->TrainStep(batch, 1e-4, i + 4).status();
                   }));
  StepComparison c;
  for (int k = 0; k < 2; ++k) {
    c.seconds[k] = medians[k];
    c.quiet_seconds[k] = backends[k]->train().QuietStepSeconds();
    c.kernel_calls[k] = backends[k]->train().num_kernel_calls();
    c.memory[k] = passes::AnalyzePlan(backends[k]->train().graph());
  }
  return c;
}

}  // namespace gptc
