// Backend: what the training loop, the sampler and the checkpoints need from an execution
// engine. The compiled backend (jit_backend.h) and the reference interpreter
// (interp_backend.h) implement it over the same step graphs (passes/step_graphs.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/literal.h"
#include "runtime/checkpoint.h"
#include "runtime/text_dataset.h"

namespace gptc {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // One optimiser step on a batch; `step` counts from 1 (AdamW's bias correction). A loss or
  // gradient norm that is not finite is an error naming the step (CheckTrainStep).
  virtual absl::StatusOr<double> TrainStep(const Batch& batch, double lr, int64_t step) = 0;
  // Gradient accumulation (built with StepOptions::grad_accum = N > 1): micro-batch `micro`
  // (0 .. N-2) of optimiser step `step` adds its gradients to the sums; TrainStep then runs
  // the last micro-batch and the update. Returns the micro-batch's loss. An error on a
  // backend built without accumulation.
  virtual absl::StatusOr<double> AccumulateStep(const Batch& batch, int64_t step, int micro) = 0;
  // The loss on a batch, without changing anything.
  virtual absl::StatusOr<double> EvalLoss(const Batch& batch) = 0;
  // Next-token logits [vocab] at position `pos` of a single sequence `tokens` (i32[1, T],
  // positions after `pos` are ignored: attention is causal).
  virtual absl::StatusOr<std::vector<float>> NextTokenLogits(const ir::Literal& tokens,
                                                             int64_t pos) = 0;
  // Sampling with a KV cache (passes/kv_cache.h). Prefill runs a window i32[1, T] from
  // position 0 (the context first; rows after `pos` are ignored), fills the cache with its
  // keys and values, and returns the logits at `pos`. Decode then feeds one token at position
  // `pos` (< T; every earlier position filled) and returns the logits after it.
  virtual absl::StatusOr<std::vector<float>> Prefill(const ir::Literal& window, int64_t pos) = 0;
  virtual absl::StatusOr<std::vector<float>> Decode(int32_t token, int64_t pos) = 0;
  // The parameters and optimiser moments by IR name, sorted (checkpoints). A backend that
  // holds them as f32 lends its memory (Tensor::external) instead of copying.
  virtual absl::StatusOr<std::vector<Checkpoint::Tensor>> StateTensors() const = 0;
  // Replaces one of them; an unknown name or another type is an error naming the tensor.
  virtual absl::Status SetState(const std::string& name, const ir::Literal& value) = 0;
};

// The loss, or an error when it or the gradient norm is not finite: training stops there
// instead of going on with NaN parameters, and nothing of that step is saved.
absl::StatusOr<double> CheckTrainStep(double loss, double grad_norm, int64_t step);

// The train step's random key %rng_key (dropout masks): the run's seed and the step, so a
// resumed run draws the masks an uninterrupted one would.
inline ir::Literal RngKey(uint64_t seed, int64_t step) {
  return ir::Literal(ir::I32({2}), {static_cast<double>(seed & 0x7fffffff),
                                    static_cast<double>(step & 0x7fffffff)});
}

// The dropout key's step of micro-batch `micro` (0-based) of optimiser step `step` when each
// step has `n` micro-batches: every micro-batch draws its own masks, and with n = 1 the key
// is the step's, as before accumulation existed.
inline int64_t MicroBatchKeyStep(int64_t step, int micro, int n) {
  return (step - 1) * n + micro + 1;
}

// Row `pos` of logits [1, T, vocab].
inline std::vector<float> LogitsRow(const ir::Literal& logits, int64_t pos) {
  const int64_t vocab = logits.shape().back();
  return std::vector<float>(logits.data.begin() + pos * vocab,
                            logits.data.begin() + (pos + 1) * vocab);
}

}  // namespace gptc
