// The compiled backend: train_step, eval_step and a batch-1 forward for sampling, each an
// Executable over one shared StateStore (parameters and AdamW moments) and one
// KernelCompiler (kernels shared across the three graphs and across layers).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "codegen/kernel_compiler.h"
#include "frontend/config.h"
#include "passes/train_graphs.h"
#include "runtime/backend.h"
#include "runtime/executable.h"
#include "runtime/state_store.h"

namespace gptc {

class JitBackend : public Backend {
 public:
  static absl::StatusOr<std::unique_ptr<JitBackend>> Create(
      const GptConfig& cfg, uint64_t seed, const passes::StepOptions& step = {},
      const codegen::CompilerOptions& compiler = {});

  std::string name() const override { return "jit"; }
  absl::StatusOr<double> TrainStep(const Batch& batch, double lr, int64_t step) override;
  absl::StatusOr<double> EvalLoss(const Batch& batch) override;
  absl::StatusOr<std::vector<float>> NextTokenLogits(const ir::Literal& tokens, int64_t pos) override;
  absl::StatusOr<std::vector<Checkpoint::Tensor>> StateTensors() const override;
  absl::Status SetState(const std::string& name, const ir::Literal& value) override;

  // Logits [1, T, vocab] of one sequence i32[1, T] (the batch-1 sampling step).
  absl::StatusOr<ir::Literal> Logits(const ir::Literal& tokens);
  StateStore& store() { return store_; }
  const codegen::CompilerStats& compile_stats() const { return compiler_->stats(); }
  Executable& train() { return *train_; }
  Executable& eval() { return *eval_; }
  Executable& sample() { return *sample_; }
  int distinct_kernels() const;

 private:
  JitBackend() = default;
  std::unique_ptr<codegen::KernelCompiler> compiler_;
  StateStore store_;
  std::unique_ptr<Executable> train_, eval_, sample_;
};

}  // namespace gptc
