// `gptc train`: trains a preset on a text with AdamW and nanoGPT's schedule, then prints a
// sample.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ir/status_macros.h"
#include "runtime/communicator.h"
#include "runtime/data_path.h"
#include "runtime/interp_backend.h"
#include "runtime/jit_backend.h"
#include "runtime/process_memory.h"
#include "runtime/sampler.h"
#include "runtime/trainer.h"
#include "tools/commands.h"
#include "tools/compiler_flags.h"
#include "tools/fusion_flags.h"
#include "tools/model_flags.h"
#include "tools/train_checkpoints.h"

namespace gptc::tools {
namespace {

// The live status line (ANSI escapes) is for a person at a terminal. An MPI launcher gives
// each rank a pseudo-terminal even when mpirun's own output goes to a file, so under a
// launcher the lines are plain.
bool InteractiveTerminal() {
  for (const char* launcher_var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(launcher_var)) return false;
  return isatty(STDOUT_FILENO);
}

void AddTrainFlags(FlagSet& f) {
  f.String("data", "", "training text (default: see README, 'Data')");
  f.String("backend", "jit", "execution backend: jit (compiled) or interp (reference interpreter)");
  AddCompilerFlags(f);
  f.Int("profile", 0, "jit: print the N kernels of the train step that took longest");
  f.Int("check-replicas", 0,
        "under mpirun: every N steps, check that parameters and moments are bit-identical on "
        "every replica (0: never)");
  f.Int("steps", 2000, "optimiser steps");
  f.Double("lr", 1e-3, "peak learning rate");
  f.Double("min-lr", 1e-4, "learning rate at the end of the cosine decay");
  f.Int("warmup", 100, "linear warmup steps");
  f.Int("decay-steps", 0, "step at which the decay reaches min-lr (0: --steps)");
  f.Double("beta1", 0.9, "AdamW beta1");
  f.Double("beta2", 0.99, "AdamW beta2");
  f.Double("weight-decay", 0.1, "AdamW decoupled weight decay (rank >= 2 parameters)");
  f.Double("grad-clip", 1.0, "global gradient-norm clip (0: off)");
  f.Int("eval-interval", 250, "estimate train/val loss every this many steps");
  f.Int("eval-batches", 20, "batches per loss estimate");
  f.Int("log-interval", 50, "print a line every this many steps");
  f.String(
      "out-dir", "out",
      "checkpoints go here: ckpt.bin (latest) and best.bin (best val loss); none: no checkpoints");
  f.Int("checkpoint-interval", 0,
        "also write ckpt.bin every this many steps (it is written at every evaluation)");
  f.Bool("progress", true,
         "on a terminal, a live status line: step, loss, lr, tokens/s, elapsed, ETA");
  f.String("init-from", "",
           "start from the parameters of this .safetensors file (nanoGPT's names; gptc export "
           "writes one)");
  f.Bool("check-numerics", false,
         "jit: check every kernel's output for NaN/inf and name the first op that made one (slow)");
  f.Bool("resume", false,
         "continue from --out-dir's ckpt.bin: parameters, moments, step and batch sampler");
  f.Int("seed", 1337, "parameter initialisation seed");
  f.Int("data-seed", 1337, "batch sampling seed");
  f.Int("sample-tokens", 500, "characters to sample after training (0: none)");
  f.Double("temperature", 0.8, "sampling temperature");
  f.Int("top-k", 0, "sample from the k most likely tokens (0: all)");
}

void PrintProfile(const Executable& ex, int64_t top) {
  std::vector<Executable::KernelTime> p = ex.Profile();
  double total = 0;
  for (const auto& k : p) total += k.seconds;
  std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.seconds > b.seconds; });
  std::cout << absl::StrFormat("train step kernels: %d calls, %.2f ms per step in kernels\n",
                               p.size(),
                               p.empty() || p[0].calls == 0 ? 0.0 : 1e3 * total / p[0].calls);
  for (int64_t i = 0; i < top && i < static_cast<int64_t>(p.size()); ++i)
    std::cout << absl::StrFormat("  %6.3f ms %5.1f%%  %s\n",
                                 1e3 * p[i].seconds / std::max<int64_t>(1, p[i].calls),
                                 100 * p[i].seconds / total, p[i].node.substr(0, 150));
}

// Every numeric flag is checked before anything is loaded or compiled.
absl::Status ValidateTrainFlags(const FlagSet& f) {
  struct IntRule {
    const char* name;
    int64_t min;
  };
  for (const IntRule& r : {IntRule{"steps", 0},
                           {"threads", 0},
                           {"warmup", 0},
                           {"decay-steps", 0},
                           {"eval-interval", 1},
                           {"eval-batches", 1},
                           {"log-interval", 1},
                           {"checkpoint-interval", 0},
                           {"sample-tokens", 0},
                           {"top-k", 0},
                           {"profile", 0}})
    if (f.GetInt(r.name) < r.min)
      return absl::InvalidArgumentError(absl::StrCat(
          "gptc train: --", r.name, " must be >= ", r.min, ", got ", f.GetInt(r.name)));
  auto in = [&](const char* name, double lo, double hi, bool lo_open,
                bool hi_open) -> absl::Status {
    const double v = f.GetDouble(name);
    const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("gptc train: --", name, " must be in ",
                                                   lo_open ? "(" : "[", lo, ", ", hi,
                                                   hi_open ? ")" : "]", ", got ", v));
  };
  constexpr double kInf = std::numeric_limits<double>::infinity();
  RETURN_IF_ERROR(in("lr", 0, kInf, true, true));
  RETURN_IF_ERROR(in("min-lr", 0, kInf, false, true));
  RETURN_IF_ERROR(in("beta1", 0, 1, false, true));
  RETURN_IF_ERROR(in("beta2", 0, 1, false, true));
  RETURN_IF_ERROR(in("weight-decay", 0, kInf, false, true));
  RETURN_IF_ERROR(in("grad-clip", 0, kInf, false, true));
  RETURN_IF_ERROR(in("temperature", 0, kInf, true, true));
  return absl::OkStatus();
}

}  // namespace

// Leaves the MPI job however RunTrain returns.
struct WorldGuard {
  ~WorldGuard() { FinalizeWorld(); }
};

int RunTrain(const Args& args) {
  FlagSet flags("train");
  AddModelFlags(flags, "shakespeare-cpu");
  AddTrainFlags(flags);
  AddFusionFlags(flags);
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc train [flags]\nTrains a GPT and prints a sample.\n\n"
              << flags.Usage();
    return 0;
  }
  const std::string backend_name = flags.GetString("backend");
  if (backend_name != "interp" && backend_name != "jit")
    return Fail(
        absl::InvalidArgumentError("--backend must be jit or interp, got '" + backend_name + "'"),
        2);
  if (auto s = ValidateTrainFlags(flags); !s.ok()) return Fail(s, 2);
  if (flags.GetInt("check-replicas") < 0)
    return Fail(absl::InvalidArgumentError("--check-replicas must be >= 0"), 2);
  // Under mpirun every process runs this same command: one replica each (README, "Data
  // parallel"). Rank 0 alone prints, writes metrics and checkpoints.
  if (auto s = InitWorld(); !s.ok()) return Fail(s, 2);
  WorldGuard world_guard;
  const bool lead = World().rank() == 0;
  if (!lead) std::cout.setstate(std::ios::failbit);
  if (World().size() > 1 && backend_name != "jit")
    return Fail(absl::InvalidArgumentError(
                    "under mpirun, --backend must be jit (the interpreter is one replica)"),
                2);
  if (flags.GetBool("check-numerics") && backend_name != "jit")
    return Fail(absl::InvalidArgumentError(
                    "gptc train: --check-numerics needs --backend=jit (the interpreter "
                    "stops on a non-finite loss or gradient norm already)"),
                2);
  auto model = ModelFromFlags(flags);
  if (!model.ok()) return Fail(model.status(), 2);
  auto data = LoadData(flags, &*model);
  if (!data.ok()) return Fail(data.status());
  // Checkpoint problems are found before anything is compiled.
  const std::string out_dir = flags.GetString("out-dir");
  const bool checkpoints = out_dir != "none" && !out_dir.empty();
  if (flags.GetBool("resume") && !checkpoints)
    return Fail(absl::InvalidArgumentError("--resume needs an --out-dir to resume from"), 2);
  if (flags.GetInt("checkpoint-interval") < 0)
    return Fail(absl::InvalidArgumentError("--checkpoint-interval must be >= 0"), 2);
  if (checkpoints && lead)
    if (auto s = PrepareOutDir(out_dir); !s.ok()) return Fail(s);
  std::optional<Checkpoint> resume;
  if (flags.GetBool("resume")) {
    const std::string path = LatestCheckpoint(out_dir);
    if (!std::filesystem::exists(path))
      return Fail(
          absl::NotFoundError("--resume: there is no checkpoint " + path + " to resume from"));
    auto c = LoadMatching(path, *model, data->tokenizer().alphabet());
    if (!c.ok()) return Fail(c.status());
    if (c->step > flags.GetInt("steps"))
      return Fail(absl::InvalidArgumentError(absl::StrFormat(
          "--resume: %s is at step %d, past --steps=%d", path, c->step, flags.GetInt("steps"))));
    resume = *std::move(c);
  }
  std::map<std::string, ir::Literal> init_from;
  if (!flags.GetString("init-from").empty()) {
    if (resume)
      return Fail(absl::InvalidArgumentError("--init-from and --resume exclude each other"), 2);
    auto p = ReadInitFrom(*model, flags.GetString("init-from"));
    if (!p.ok()) return Fail(p.status());
    init_from = *std::move(p);
  }

  passes::AdamWOptions adamw;
  adamw.beta1 = flags.GetDouble("beta1");
  adamw.beta2 = flags.GetDouble("beta2");
  adamw.weight_decay = flags.GetDouble("weight-decay");
  adamw.clip_norm = flags.GetDouble("grad-clip");
  auto step = StepOptionsFromFlags(flags, adamw);
  if (!step.ok()) return Fail(step.status(), 2);
  step->all_reduce_gradients = World().size() > 1;
  TrainOptions opts;
  opts.steps = flags.GetInt("steps");
  opts.schedule.lr = flags.GetDouble("lr");
  opts.schedule.min_lr = flags.GetDouble("min-lr");
  opts.schedule.warmup_steps = flags.GetInt("warmup");
  opts.schedule.decay_steps = flags.IsSet("decay-steps") ? flags.GetInt("decay-steps") : opts.steps;
  opts.eval_interval = flags.GetInt("eval-interval");
  opts.eval_batches = flags.GetInt("eval-batches");
  opts.log_interval = flags.GetInt("log-interval");
  opts.data_seed = flags.GetInt("data-seed");
  opts.check_replicas = flags.GetInt("check-replicas");

  std::cout << "model " << model->Summary() << " on " << data->origin() << "\n";
  if (World().size() > 1)
    std::cout << absl::StrFormat(
        "data parallel: %d replicas x batch %d = global batch %d; gradients averaged by MPI "
        "allreduce\n",
        World().size(), model->batch_size, World().size() * model->batch_size);
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Backend> backend;
  JitBackend* jit_backend = nullptr;
  if (backend_name == "jit") {
    codegen::CompilerOptions co = CompilerOptionsFromFlags(flags);
    // Replicas on one machine share its cores: each spins up cores / replicas threads unless
    // --threads says otherwise (spinning pools that oversubscribe the cores crawl).
    if (const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        local && !flags.IsSet("threads") && std::atoi(local) > 1)
      co.threads =
          std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::atoi(local));
    auto jit = JitBackend::Create(*model, flags.GetInt("seed"), *step, co);
    if (!jit.ok()) return Fail(jit.status());
    const codegen::CompilerStats& s = (*jit)->compile_stats();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << absl::StrFormat(
        "backend jit: compiled in %.2f s (%s): %d kernels compiled, %d from the cache, %d reused; "
        "Halide runtime %s\n",
        secs, s.compiled == 0 ? "warm" : "cold", s.compiled, s.cache_hits, s.reused,
        s.runtime_from_cache ? "from the cache" : "compiled");
    if (flags.GetInt("profile") > 0) (*jit)->train().EnableProfiling(true);
    (*jit)->EnableNumericChecks(flags.GetBool("check-numerics"));
    jit_backend = jit->get();
    backend = *std::move(jit);
  } else {
    auto interp = InterpBackend::Create(*model, flags.GetInt("seed"), *step);
    if (!interp.ok()) return Fail(interp.status());
    std::cout << absl::StrFormat(
        "backend interp: train_step graph of %d nodes built in %.2f s\n",
        (*interp)->train_graph().num_nodes(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    backend = *std::move(interp);
  }
  double best_val = std::numeric_limits<double>::infinity();
  if (!init_from.empty()) {
    if (auto s = ApplyParameters(*backend, init_from); !s.ok()) return Fail(s);
    std::cout << "parameters from " << flags.GetString("init-from") << "\n";
  }
  if (resume) {
    if (auto s = Restore(*backend, *resume, LatestCheckpoint(out_dir)); !s.ok()) return Fail(s);
    opts.start_step = resume->step;
    opts.rng_state = resume->rng_state;
    best_val = resume->best_val_loss;
    std::cout << absl::StrFormat("resumed from %s at step %d\n", LatestCheckpoint(out_dir),
                                 resume->step);
  }
  if (checkpoints && lead) {
    const std::map<std::string, std::string> recorded = {
        {"lr", absl::StrCat(opts.schedule.lr)},
        {"min-lr", absl::StrCat(opts.schedule.min_lr)},
        {"warmup", absl::StrCat(opts.schedule.warmup_steps)},
        {"decay-steps", absl::StrCat(opts.schedule.decay_steps)},
        {"steps", absl::StrCat(opts.steps)},
        {"beta1", absl::StrCat(adamw.beta1)},
        {"beta2", absl::StrCat(adamw.beta2)},
        {"weight-decay", absl::StrCat(adamw.weight_decay)},
        {"grad-clip", absl::StrCat(adamw.clip_norm)},
        {"seed", absl::StrCat(flags.GetInt("seed"))},
        {"data-seed", absl::StrCat(opts.data_seed)},
        {"data", data->origin()}};
    opts.checkpoint_interval = flags.GetInt("checkpoint-interval");
    opts.on_checkpoint =
        [&,
         recorded](const TrainPoint& p) -> absl::Status {  // recorded: by value, it is block-local
      const bool better = p.evaluated && p.val_loss < best_val;
      if (better) best_val = p.val_loss;
      ASSIGN_OR_RETURN(Checkpoint c, Capture(*backend, *model, data->tokenizer().alphabet(), p,
                                             best_val, recorded));
      RETURN_IF_ERROR(WriteCheckpoint(LatestCheckpoint(out_dir), c));
      if (better) RETURN_IF_ERROR(WriteCheckpoint(BestCheckpoint(out_dir), c));
      return absl::OkStatus();
    };
  }
  std::ofstream metrics;
  if (checkpoints && lead) {  // appended to on --resume, so one file holds the whole run
    metrics.open(out_dir + "/metrics.jsonl", resume ? std::ios::app : std::ios::trunc);
    if (!metrics)
      return Fail(absl::PermissionDeniedError("cannot write " + out_dir + "/metrics.jsonl"));
    opts.metrics = &metrics;
  }
  if (InteractiveTerminal() && flags.GetBool("progress") && lead) opts.status = &std::cout;
  auto report = Train(*backend, *data, *model, opts, &std::cout);
  if (opts.status) std::cout << "\r\033[K";
  if (!report.ok()) return Fail(report.status());
  const int64_t ran = opts.steps - opts.start_step;
  std::cout << absl::StrFormat("trained %d steps in %.1f s (%.1f ms/step)\n", ran, report->seconds,
                               ran ? 1e3 * report->seconds / ran : 0.0);
  if (World().size() > 1 && ran > 0)
    std::cout << absl::StrFormat(
        "allreduce: %.2f MB of gradients per step in %.2f ms per step (%.1f%% of the step)\n",
        World().reduced_bytes() / 1e6 / ran, 1e3 * World().reduce_seconds() / ran,
        100 * World().reduce_seconds() / report->seconds);
  if (jit_backend && flags.GetInt("profile") > 0)
    PrintProfile(jit_backend->train(), flags.GetInt("profile"));
  if (jit_backend) {
    int64_t persistent = 0;
    for (const auto& [name, e] : jit_backend->store().entries())
      persistent += static_cast<int64_t>(e.bytes);
    auto mib = [](int64_t b) { return b / 1048576.0; };
    std::cout << absl::StrFormat(
        "memory: peak resident %.1f MiB; arena %.1f MiB (train, eval and sampling steps share it); "
        "parameters "
        "and moments %.1f MiB, gradients and inputs %.1f MiB%s\n",
        mib(PeakResidentBytes()), mib(jit_backend->train().arena_bytes()), mib(persistent),
        mib(jit_backend->train().owned_bytes()),
        step->plan ? "" : " (--no-plan: one buffer per value)");
  }
  if (flags.GetInt("sample-tokens") > 0 && lead) {
    SampleOptions so;
    so.max_new_tokens = flags.GetInt("sample-tokens");
    so.temperature = flags.GetDouble("temperature");
    so.top_k = flags.GetInt("top-k");
    auto text = SampleText(*backend, data->tokenizer(), model->block_size, so);
    if (!text.ok()) return Fail(text.status());
    std::cout << "---- sample ----\n" << *text << "\n----------------\n";
  }
  return 0;
}

}  // namespace gptc::tools
