// The training loop: batches from a seeded sampler, nanoGPT's learning-rate schedule, a log
// line every log_interval steps and train/val loss estimates every eval_interval steps over a
// fixed set of batches (the same batches each time, so estimates are comparable).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "runtime/backend.h"
#include "runtime/lr_schedule.h"
#include "runtime/text_dataset.h"

namespace gptc {

// Where a run stands after a step, for checkpoints.
struct TrainPoint {
  int64_t step;           // optimiser steps done
  std::string rng_state;  // the batch sampler's state after them
  bool evaluated;         // losses were estimated at this step
  double val_loss;        // the estimate, when evaluated
};

struct TrainOptions {
  int64_t steps = 2000;
  // A resumed run: the steps already done and the sampler's state after them ("": fresh).
  int64_t start_step = 0;
  std::string rng_state;
  // Called after every checkpoint_interval-th step, after every evaluation and after the
  // last step (0: only those last two). An error stops training and is returned.
  int64_t checkpoint_interval = 0;
  std::function<absl::Status(const TrainPoint&)> on_checkpoint;
  // When set: one JSON object per line at every log point ({"step", "loss", "lr",
  // "ms_per_step", "tokens_per_s"}) and every evaluation ({"step", "train_loss", "val_loss"}).
  std::ostream* metrics = nullptr;
  // A status line rewritten in place after every step (step/max, loss, lr, tokens/s,
  // elapsed, ETA), for a terminal; the periodic lines still go to `log`.
  std::ostream* status = nullptr;
  LrSchedule schedule;
  // Also evaluates before the first and after the last step; 0: only after the last (no
  // periodic estimates, for runs that want the step time alone).
  int64_t eval_interval = 250;
  int64_t eval_batches = 20;
  int64_t log_interval = 10;
  // Micro-batches per optimiser step (gradient accumulation; the backend must be built with
  // the same StepOptions::grad_accum). The logged loss is their mean.
  int grad_accum = 1;
  uint64_t data_seed = 1337;
  // Data parallel (runtime/communicator.h): every this many steps, check that the parameters
  // and moments are bit-identical on every replica (0: never).
  int64_t check_replicas = 0;
};

struct EvalPoint {
  int64_t step;
  double train_loss;
  double val_loss;
};

struct TrainReport {
  std::vector<EvalPoint> evals;
  double last_loss = 0;
  double seconds = 0;  // time in train steps (evaluation excluded)
};

absl::StatusOr<TrainReport> Train(Backend& backend, const TextDataset& data, const Model& model,
                                  const TrainOptions& options, std::ostream* log);

}  // namespace gptc
