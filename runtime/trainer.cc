#include "runtime/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "ir/status_macros.h"
#include "nlohmann/json.hpp"
#include "runtime/communicator.h"

namespace gptc {
namespace {

using Clock = std::chrono::steady_clock;

// This replica's rows of the next global batch: the global batch (replicas x B rows) is drawn
// as one process would draw it, and replica r takes rows [r B, (r + 1) B), so N replicas of
// B see exactly what one process of N B sees.
absl::StatusOr<Batch> NextBatch(const TextDataset& data, Split split, const Model& model,
                                Rng& rng) {
  Communicator& w = World();
  const int64_t b = model.batch_size, t = model.block_size;
  ASSIGN_OR_RETURN(Batch global, data.Sample(split, b * w.size(), t, rng));
  if (w.size() == 1) return global;
  Batch mine{ir::Literal(ir::I32({b, t})), ir::Literal(ir::I32({b, t}))};
  const int64_t first = w.rank() * b * t;
  std::copy_n(global.tokens.data.begin() + first, b * t, mine.tokens.data.begin());
  std::copy_n(global.targets.data.begin() + first, b * t, mine.targets.data.begin());
  return mine;
}

absl::StatusOr<std::vector<Batch>> FixedBatches(const TextDataset& data, Split split,
                                                const Model& model, int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<Batch> out;
  for (int64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(Batch b, NextBatch(data, split, model, rng));
    out.push_back(std::move(b));
  }
  return out;
}

// FNV-1a over every parameter and moment, for the replicas' bitwise check.
absl::StatusOr<uint64_t> StateHash(const Backend& backend) {
  ASSIGN_OR_RETURN(std::vector<Checkpoint::Tensor> tensors, backend.StateTensors());
  uint64_t h = 1469598103934665603ull;
  for (const Checkpoint::Tensor& t : tensors) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(t.values());
    for (int64_t i = 0; i < 4 * t.size(); ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  return h;
}

// "1:02:03" or "02:03".
std::string Hms(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  return s >= 3600 ? absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                   : absl::StrFormat("%02d:%02d", s / 60, s % 60);
}

// The mean loss over the batches, of the global batches when data parallel (each replica
// evaluates its rows; the means are averaged).
absl::StatusOr<double> MeanLoss(Backend& backend, const std::vector<Batch>& batches) {
  double sum = 0;
  for (const Batch& b : batches) {
    ASSIGN_OR_RETURN(double l, backend.EvalLoss(b));
    sum += l;
  }
  double mean = sum / static_cast<double>(batches.size());
  RETURN_IF_ERROR(World().AllReduceMean(&mean, 1));
  return mean;
}

}  // namespace

absl::StatusOr<TrainReport> Train(Backend& backend, const TextDataset& data, const Model& model,
                                  const TrainOptions& o, std::ostream* log) {
  if (o.steps < 0 || o.eval_batches <= 0 || o.eval_interval < 0 || o.log_interval <= 0 ||
      o.grad_accum <= 0)
    return absl::InvalidArgumentError(
        "train: steps and the eval interval must be >= 0, the log interval, eval batches and "
        "micro-batches > 0");
  ASSIGN_OR_RETURN(std::vector<Batch> train_eval,
                   FixedBatches(data, Split::kTrain, model, o.eval_batches, o.data_seed + 1));
  ASSIGN_OR_RETURN(std::vector<Batch> val_eval,
                   FixedBatches(data, Split::kVal, model, o.eval_batches, o.data_seed + 2));
  TrainReport report;
  auto evaluate = [&](int64_t step) -> absl::Status {
    ASSIGN_OR_RETURN(double tl, MeanLoss(backend, train_eval));
    ASSIGN_OR_RETURN(double vl, MeanLoss(backend, val_eval));
    report.evals.push_back({step, tl, vl});
    if (o.status) *o.status << "\r\033[K";  // the log line replaces the status line
    // Flushed: a log redirected to a file is read while the run goes on.
    if (log)
      *log << absl::StrFormat("step %d: train loss %.4f, val loss %.4f\n", step, tl, vl)
           << std::flush;
    if (o.metrics)
      *o.metrics << nlohmann::ordered_json{{"step", step}, {"train_loss", tl}, {"val_loss", vl}}
                 << "\n"
                 << std::flush;
    return absl::OkStatus();
  };
  if (o.start_step < 0 || o.start_step > o.steps)
    return absl::InvalidArgumentError(
        absl::StrFormat("train: cannot start at step %d of %d", o.start_step, o.steps));
  if (o.eval_interval > 0 || o.start_step == o.steps) RETURN_IF_ERROR(evaluate(o.start_step));
  Rng rng(o.data_seed);
  if (!o.rng_state.empty() && !rng.SetState(o.rng_state))
    return absl::InvalidArgumentError("train: the saved batch sampler state is malformed");
  // tests/mpi_test.cc: the last replica exits at this step (a replica dying mid-run must end
  // the job); -1: never.
  const char* die = std::getenv("GPTC_TEST_EXIT_AT_STEP");
  const int64_t exit_at_step =
      die && World().rank() == World().size() - 1 ? std::atoll(die) : int64_t{-1};
  double window_secs = 0;
  const auto run_start = Clock::now();
  for (int64_t it = o.start_step; it < o.steps; ++it) {
    const double lr = o.schedule.At(it);
    const auto start = Clock::now();
    double micro_losses = 0;  // micro-batches before the last add their gradients
    for (int m = 0; m + 1 < o.grad_accum; ++m) {
      ASSIGN_OR_RETURN(Batch b, NextBatch(data, Split::kTrain, model, rng));
      ASSIGN_OR_RETURN(double l, backend.AccumulateStep(b, it + 1, m));
      micro_losses += l;
    }
    ASSIGN_OR_RETURN(Batch b, NextBatch(data, Split::kTrain, model, rng));
    ASSIGN_OR_RETURN(double last, backend.TrainStep(b, lr, it + 1));
    double loss = (micro_losses + last) / o.grad_accum;
    RETURN_IF_ERROR(World().AllReduceMean(&loss, 1));  // the global batch's loss
    if (exit_at_step == it + 1) std::_Exit(3);
    if (o.check_replicas > 0 && (it + 1) % o.check_replicas == 0) {
      ASSIGN_OR_RETURN(uint64_t h, StateHash(backend));
      RETURN_IF_ERROR(World().CheckSame(
          h, absl::StrFormat("train: after step %d the parameters and moments", it + 1)));
    }
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (!std::isfinite(loss))
      return absl::InternalError(
          absl::StrFormat("train: loss is %f at step %d; stopping", loss, it + 1));
    report.seconds += secs;
    window_secs += secs;
    report.last_loss = loss;
    const int64_t step = it + 1;
    const double tokens =
        static_cast<double>(model.batch_size * model.block_size * World().size() * o.grad_accum);
    if (o.status) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
      const double per_step = elapsed / static_cast<double>(step - o.start_step);
      *o.status
          << absl::StrFormat(
                 "\r\033[Kstep %d/%d | loss %.4f | lr %.2e | %.0f tok/s | %s elapsed | ETA %s",
                 step, o.steps, loss, lr, tokens / (secs > 0 ? secs : 1e-9), Hms(elapsed),
                 Hms(per_step * static_cast<double>(o.steps - step)))
          << std::flush;
    }
    if (step % o.log_interval == 0 || step == o.steps) {
      const int64_t n = std::min<int64_t>(
          step - o.start_step, step % o.log_interval == 0 ? o.log_interval : step % o.log_interval);
      const double ms = 1e3 * window_secs / static_cast<double>(n);
      if (o.status) *o.status << "\r\033[K";
      if (log)
        *log << absl::StrFormat("step %d/%d | loss %.4f | lr %.2e | %.1f ms/step\n", step, o.steps,
                                loss, lr, ms)
             << std::flush;
      if (o.metrics)
        *o.metrics << nlohmann::ordered_json{{"step", step},
                                             {"loss", loss},
                                             {"lr", lr},
                                             {"ms_per_step", ms},
                                             {"tokens_per_s", tokens / (ms / 1e3)}}
                   << "\n"
                   << std::flush;
      window_secs = 0;
    }
    const bool evaluated = (o.eval_interval > 0 && step % o.eval_interval == 0) || step == o.steps;
    if (evaluated) RETURN_IF_ERROR(evaluate(step));
    const bool due = (o.checkpoint_interval > 0 && step % o.checkpoint_interval == 0) || evaluated;
    if (o.on_checkpoint && due)
      RETURN_IF_ERROR(o.on_checkpoint(
          {step, rng.State(), evaluated, evaluated ? report.evals.back().val_loss : 0.0}));
  }
  return report;
}

}  // namespace gptc
