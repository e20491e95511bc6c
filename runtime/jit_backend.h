// The compiled backend: the model's step graphs (passes/step_graphs.h), each an Executable
// over one shared StateStore (parameters, AdamW moments and the KV cache), one KernelCompiler
// (kernels shared across graphs and layers) and one arena (the steps never run at once).
// Steps are compiled when first used, or at Create for those asked for: `gptc train`
// compiles train, eval and sample up front, `gptc sample` only what it samples with.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/kernel_compiler.h"
#include "frontend/model.h"
#include "passes/step_graphs.h"
#include "runtime/backend.h"
#include "runtime/executable.h"
#include "runtime/state_store.h"

namespace gptc {

class JitBackend : public Backend {
 public:
  // kAccumulate: micro-batches before the last under gradient accumulation, compiled with
  // kTrain when the step options ask for it.
  enum class Step { kTrain, kEval, kSample, kPrefill, kDecode, kAccumulate };
  static constexpr int kNumSteps = 6;

  static absl::StatusOr<std::unique_ptr<JitBackend>> Create(
      const Model& model, uint64_t seed, const passes::StepOptions& step = {},
      const codegen::CompilerOptions& compiler = {},
      const std::vector<Step>& compile_now = {Step::kTrain, Step::kEval, Step::kSample});

  std::string name() const override { return "jit"; }
  absl::StatusOr<double> TrainStep(const Batch& batch, double lr, int64_t step) override;
  absl::StatusOr<double> AccumulateStep(const Batch& batch, int64_t step, int micro) override;
  absl::StatusOr<double> EvalLoss(const Batch& batch) override;
  absl::StatusOr<std::vector<float>> NextTokenLogits(const ir::Literal& tokens,
                                                     int64_t pos) override;
  absl::StatusOr<std::vector<float>> Prefill(const ir::Literal& window, int64_t pos) override;
  absl::StatusOr<std::vector<float>> Decode(int32_t token, int64_t pos) override;
  absl::StatusOr<std::vector<Checkpoint::Tensor>> StateTensors() const override;
  absl::Status SetState(const std::string& name, const ir::Literal& value) override;

  // Logits [1, T, vocab] of one sequence i32[1, T] (the batch-1 sampling step).
  absl::StatusOr<ir::Literal> Logits(const ir::Literal& tokens);
  StateStore& store() { return store_; }
  const codegen::CompilerStats& compile_stats() const { return compiler_->stats(); }
  // A step's executable, compiled now if it was not yet.
  absl::StatusOr<Executable*> Get(Step s);
  // The steps compiled at Create (checked).
  Executable& train() { return Compiled(Step::kTrain); }
  Executable& eval() { return Compiled(Step::kEval); }
  Executable& sample() { return Compiled(Step::kSample); }
  // Executable::EnableNumericChecks for every step, compiled or to come (--check-numerics).
  void EnableNumericChecks(bool on);

 private:
  JitBackend() = default;
  Executable& Compiled(Step s);
  absl::Status InitParams(uint64_t seed);
  // Computes every buffer (frontend/buffer.h) a compiled step has declared into the store.
  absl::Status FillBuffers();
  std::unique_ptr<codegen::KernelCompiler> compiler_;
  StateStore store_;
  passes::StepGraphs graphs_;
  std::shared_ptr<AlignedBuffer> arena_;
  std::array<std::unique_ptr<Executable>, kNumSteps> exe_;
  uint64_t seed_ = 0;
  int grad_accum_ = 1;  // micro-batches per optimiser step
  bool random_ = false;
  bool params_ready_ = false;    // InitParams ran: steps compiled later fill their buffers
  bool check_numerics_ = false;  // the train step has dropout: it takes %rng_key
};

}  // namespace gptc
