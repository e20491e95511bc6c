// The reference interpreter as a training backend: slow, exact, and the oracle the compiled
// backend is tested against. Holds parameters and AdamW moments as Literals.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "ir/interpreter.h"
#include "passes/train_graphs.h"
#include "runtime/backend.h"

namespace gptc {

class InterpBackend : public Backend {
 public:
  // Builds the train, eval and sampling graphs of `model` and initialises parameters from
  // `seed` (moments start at zero).
  static absl::StatusOr<std::unique_ptr<InterpBackend>> Create(
      const Model& model, uint64_t seed, const passes::StepOptions& step = {},
      ir::Precision precision = ir::Precision::kF32);

  std::string name() const override { return "interp"; }
  absl::StatusOr<double> TrainStep(const Batch& batch, double lr, int64_t step) override;
  absl::StatusOr<double> AccumulateStep(const Batch& batch, int64_t step, int micro) override;
  absl::StatusOr<double> EvalLoss(const Batch& batch) override;
  absl::StatusOr<std::vector<float>> NextTokenLogits(const ir::Literal& tokens,
                                                     int64_t pos) override;
  absl::StatusOr<std::vector<float>> Prefill(const ir::Literal& window, int64_t pos) override;
  absl::StatusOr<std::vector<float>> Decode(int32_t token, int64_t pos) override;
  absl::StatusOr<std::vector<Checkpoint::Tensor>> StateTensors() const override;
  absl::Status SetState(const std::string& name, const ir::Literal& value) override;

  ir::LiteralMap& state() { return state_; }  // params and moments, by name
  const ir::Graph& train_graph() const { return train_; }

 private:
  InterpBackend() = default;
  ir::Graph train_, accumulate_, eval_, sample_, prefill_, decode_;
  ir::LiteralMap state_;  // params and moments
  ir::LiteralMap kv_;     // params (copied at each Prefill) and the KV cache
  ir::InterpOptions options_;
  uint64_t seed_ = 0;
  int grad_accum_ = 1;  // micro-batches per optimiser step
};

}  // namespace gptc
