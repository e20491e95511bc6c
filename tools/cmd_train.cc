// `gptc train`: trains a model (a preset, or a checkpoint's) on a text with AdamW and nanoGPT's
// schedule, then prints a sample.
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

#include "absl/strings/cord.h"
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
  f.Int("grad-accum", 1,
        "micro-batches per optimiser step (gradient accumulation): a step equals one on a "
        "batch this many times larger, at the memory of one");
  f.Int("eval-interval", 250,
        "estimate train/val loss every this many steps (and before the first); 0: only after "
        "the last");
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
    std::cout << absl::StrFormat("  %6.3f ms %5.1f%%  %s\n", 1e3 * p[i].SecondsPerCall(),
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
                           {"grad-accum", 1},
                           {"eval-interval", 0},
                           {"eval-batches", 1},
                           {"log-interval", 1},
                           {"checkpoint-interval", 0},
                           {"sample-tokens", 0},
                           {"top-k", 0},
                           {"profile", 0}})
    if (f.GetInt(r.name) < r.min)
      return absl::InvalidArgumentError(absl::StrCat(
          "gptc train: --", r.name, " must be >= ", r.min, ", got ", f.GetInt(r.name)));
  if (f.GetInt("grad-accum") > 65536)
    return absl::InvalidArgumentError(
        absl::StrCat("gptc train: --grad-accum must be <= 65536, got ", f.GetInt("grad-accum")));
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

// A bad command line exits with 2, a failed run with 1: the helpers below return a status,
// and mark the command-line ones.
constexpr absl::string_view kUsagePayload = "gptc.usage";
absl::Status Usage(absl::Status s) {
  s.SetPayload(kUsagePayload, absl::Cord("2"));
  return s;
}
int Exit(const absl::Status& s) { return Fail(s, s.GetPayload(kUsagePayload) ? 2 : 1); }

// What the flags ask for, checked before anything is loaded, compiled or written.
absl::Status CheckTrainFlags(const FlagSet& flags) {
  const std::string backend = flags.GetString("backend");
  if (backend != "interp" && backend != "jit")
    return Usage(
        absl::InvalidArgumentError("--backend must be jit or interp, got '" + backend + "'"));
  RETURN_IF_ERROR(Usage(ValidateTrainFlags(flags)));
  if (flags.GetInt("check-replicas") < 0)
    return Usage(absl::InvalidArgumentError("--check-replicas must be >= 0"));
  if (flags.GetInt("checkpoint-interval") < 0)
    return Usage(absl::InvalidArgumentError("--checkpoint-interval must be >= 0"));
  if (World().size() > 1 && backend != "jit")
    return Usage(absl::InvalidArgumentError(
        "under mpirun, --backend must be jit (the interpreter is one replica)"));
  if (flags.GetBool("check-numerics") && backend != "jit")
    return Usage(absl::InvalidArgumentError(
        "gptc train: --check-numerics needs --backend=jit (the interpreter stops on a "
        "non-finite loss or gradient norm already)"));
  return absl::OkStatus();
}

// The model, the text and where the run starts from: a checkpoint to resume, or parameters
// to start from. Checkpoint problems are found here, before anything is compiled.
struct RunInputs {
  Model model;
  TextDataset data;
  std::string out_dir;
  bool checkpoints = false;  // an --out-dir to write to
  std::optional<Checkpoint> resume;
  std::map<std::string, ir::Literal> init_from;
};

absl::StatusOr<RunInputs> LoadRunInputs(const FlagSet& flags, bool lead) {
  absl::StatusOr<Model> model = ModelFromFlags(flags);
  if (!model.ok()) return Usage(model.status());
  ASSIGN_OR_RETURN(TextDataset data, LoadData(flags, &*model));
  RunInputs in{*std::move(model), std::move(data), flags.GetString("out-dir"), false, {}, {}};
  in.checkpoints = in.out_dir != "none" && !in.out_dir.empty();
  if (flags.GetBool("resume") && !in.checkpoints)
    return Usage(absl::InvalidArgumentError("--resume needs an --out-dir to resume from"));
  if (in.checkpoints && lead) RETURN_IF_ERROR(PrepareOutDir(in.out_dir));
  if (flags.GetBool("resume")) {
    const std::string path = LatestCheckpoint(in.out_dir);
    if (!std::filesystem::exists(path))
      return absl::NotFoundError("--resume: there is no checkpoint " + path + " to resume from");
    ASSIGN_OR_RETURN(Checkpoint c, LoadMatching(path, in.model, in.data.tokenizer().state()));
    if (c.step > flags.GetInt("steps"))
      return absl::InvalidArgumentError(absl::StrFormat(
          "--resume: %s is at step %d, past --steps=%d", path, c.step, flags.GetInt("steps")));
    in.resume = std::move(c);
  }
  if (!flags.GetString("init-from").empty()) {
    if (in.resume)
      return Usage(absl::InvalidArgumentError("--init-from and --resume exclude each other"));
    ASSIGN_OR_RETURN(in.init_from, ReadInitFrom(in.model, flags.GetString("init-from")));
  }
  return in;
}

passes::AdamWOptions AdamWFromFlags(const FlagSet& flags) {
  passes::AdamWOptions adamw;
  adamw.beta1 = flags.GetDouble("beta1");
  adamw.beta2 = flags.GetDouble("beta2");
  adamw.weight_decay = flags.GetDouble("weight-decay");
  adamw.clip_norm = flags.GetDouble("grad-clip");
  return adamw;
}

TrainOptions TrainOptionsFromFlags(const FlagSet& flags) {
  TrainOptions opts;
  opts.steps = flags.GetInt("steps");
  opts.schedule.lr = flags.GetDouble("lr");
  opts.schedule.min_lr = flags.GetDouble("min-lr");
  opts.schedule.warmup_steps = flags.GetInt("warmup");
  opts.schedule.decay_steps = flags.IsSet("decay-steps") ? flags.GetInt("decay-steps") : opts.steps;
  opts.eval_interval = flags.GetInt("eval-interval");
  opts.eval_batches = flags.GetInt("eval-batches");
  opts.grad_accum = static_cast<int>(flags.GetInt("grad-accum"));
  opts.log_interval = flags.GetInt("log-interval");
  opts.data_seed = flags.GetInt("data-seed");
  opts.check_replicas = flags.GetInt("check-replicas");
  return opts;
}

// Compiles (jit) or builds (interp) the step graphs and says how long it took; `jit` is set
// for the compiled backend.
absl::StatusOr<std::unique_ptr<Backend>> MakeBackend(const FlagSet& flags, const Model& model,
                                                     const passes::StepOptions& step,
                                                     JitBackend** jit) {
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (flags.GetString("backend") == "interp") {
    ASSIGN_OR_RETURN(std::unique_ptr<InterpBackend> interp,
                     InterpBackend::Create(model, flags.GetInt("seed"), step));
    std::cout << absl::StrFormat("backend interp: train_step graph of %d nodes built in %.2f s\n",
                                 interp->train_graph().num_nodes(), seconds());
    return std::unique_ptr<Backend>(std::move(interp));
  }
  codegen::CompilerOptions co = CompilerOptionsFromFlags(flags);
  // Replicas on one machine share its cores: each spins up cores / replicas threads unless
  // --threads says otherwise (spinning pools that oversubscribe the cores crawl).
  if (const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
      local && !flags.IsSet("threads") && std::atoi(local) > 1)
    co.threads =
        std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::atoi(local));
  ASSIGN_OR_RETURN(std::unique_ptr<JitBackend> b,
                   JitBackend::Create(model, flags.GetInt("seed"), step, co));
  const codegen::CompilerStats& s = b->compile_stats();
  std::cout << absl::StrFormat(
      "backend jit: compiled in %.2f s (%s): %d kernels compiled, %d from the cache, %d reused; "
      "Halide runtime %s\n",
      seconds(), s.compiled == 0 ? "warm" : "cold", s.compiled, s.cache_hits, s.reused,
      s.runtime_from_cache ? "from the cache" : "compiled");
  if (flags.GetInt("profile") > 0) b->train().EnableProfiling(true);
  b->EnableNumericChecks(flags.GetBool("check-numerics"));
  *jit = b.get();
  return std::unique_ptr<Backend>(std::move(b));
}

// Puts --init-from's parameters or the resumed checkpoint into the backend.
absl::Status StartFrom(Backend& backend, const FlagSet& flags, const RunInputs& in,
                       TrainOptions& opts, double& best_val) {
  if (!in.init_from.empty()) {
    RETURN_IF_ERROR(ApplyParameters(backend, in.init_from));
    std::cout << "parameters from " << flags.GetString("init-from") << "\n";
  }
  if (in.resume) {
    const std::string path = LatestCheckpoint(in.out_dir);
    RETURN_IF_ERROR(Restore(backend, *in.resume, path));
    opts.start_step = in.resume->step;
    opts.rng_state = in.resume->rng_state;
    best_val = in.resume->best_val_loss;
    std::cout << absl::StrFormat("resumed from %s at step %d\n", path, in.resume->step);
  }
  return absl::OkStatus();
}

// The training flags a checkpoint records.
std::map<std::string, std::string> RecordedFlags(const FlagSet& flags, const TrainOptions& opts,
                                                 const passes::AdamWOptions& adamw,
                                                 const TextDataset& data) {
  return {{"lr", absl::StrCat(opts.schedule.lr)},
          {"min-lr", absl::StrCat(opts.schedule.min_lr)},
          {"warmup", absl::StrCat(opts.schedule.warmup_steps)},
          {"decay-steps", absl::StrCat(opts.schedule.decay_steps)},
          {"steps", absl::StrCat(opts.steps)},
          {"grad-accum", absl::StrCat(opts.grad_accum)},
          {"beta1", absl::StrCat(adamw.beta1)},
          {"beta2", absl::StrCat(adamw.beta2)},
          {"weight-decay", absl::StrCat(adamw.weight_decay)},
          {"grad-clip", absl::StrCat(adamw.clip_norm)},
          {"seed", absl::StrCat(flags.GetInt("seed"))},
          {"data-seed", absl::StrCat(opts.data_seed)},
          {"data", data.origin()}};
}

// After the run: its speed, the allreduce's share, the kernel profile and the memory.
void PrintRunReport(const FlagSet& flags, const TrainOptions& opts, const TrainReport& report,
                    JitBackend* jit, bool planned) {
  const int64_t ran = opts.steps - opts.start_step;
  std::cout << absl::StrFormat("trained %d steps in %.1f s (%.1f ms/step)\n", ran, report.seconds,
                               ran ? 1e3 * report.seconds / ran : 0.0);
  if (World().size() > 1 && ran > 0)
    std::cout << absl::StrFormat(
        "allreduce: %.2f MB of gradients per step in %.2f ms per step (%.1f%% of the step)\n",
        World().reduced_bytes() / 1e6 / ran, 1e3 * World().reduce_seconds() / ran,
        100 * World().reduce_seconds() / report.seconds);
  if (!jit) return;
  if (flags.GetInt("profile") > 0) PrintProfile(jit->train(), flags.GetInt("profile"));
  int64_t persistent = 0;
  for (const auto& [name, e] : jit->store().entries()) persistent += static_cast<int64_t>(e.bytes);
  auto mib = [](int64_t b) { return b / 1048576.0; };
  std::cout << absl::StrFormat(
      "memory: peak resident %.1f MiB; arena %.1f MiB (train, eval and sampling steps share it); "
      "parameters and moments %.1f MiB, gradients and inputs %.1f MiB%s\n",
      mib(PeakResidentBytes()), mib(jit->train().arena_bytes()), mib(persistent),
      mib(jit->train().owned_bytes()), planned ? "" : " (--no-plan: one buffer per value)");
}

absl::Status PrintSample(Backend& backend, const FlagSet& flags, const RunInputs& in) {
  SampleOptions so;
  so.max_new_tokens = flags.GetInt("sample-tokens");
  so.temperature = flags.GetDouble("temperature");
  so.top_k = flags.GetInt("top-k");
  ASSIGN_OR_RETURN(std::string text,
                   SampleText(backend, in.data.tokenizer(), in.model.block_size, so));
  std::cout << "---- sample ----\n" << text << "\n----------------\n";
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
    std::cout << "usage: gptc train [flags]\nTrains a model and prints a sample.\n\n"
              << flags.Usage();
    return 0;
  }
  // Under mpirun every process runs this same command: one replica each (README, "Data
  // parallel"). Rank 0 alone prints, writes metrics and checkpoints.
  if (auto s = InitWorld(); !s.ok()) return Fail(s, 2);
  WorldGuard world_guard;
  const bool lead = World().rank() == 0;
  if (!lead) std::cout.setstate(std::ios::failbit);
  if (auto s = CheckTrainFlags(flags); !s.ok()) return Exit(s);
  absl::StatusOr<RunInputs> in = LoadRunInputs(flags, lead);
  if (!in.ok()) return Exit(in.status());

  const passes::AdamWOptions adamw = AdamWFromFlags(flags);
  auto step = StepOptionsFromFlags(flags, adamw);
  if (!step.ok()) return Fail(step.status(), 2);
  step->all_reduce_gradients = World().size() > 1;
  TrainOptions opts = TrainOptionsFromFlags(flags);
  step->grad_accum = opts.grad_accum;

  std::cout << "model " << in->model.Summary() << " on " << in->data.origin() << "\n";
  if (opts.grad_accum > 1)
    std::cout << absl::StrFormat(
        "gradient accumulation: %d micro-batches of %d sequences per step (a batch of %d)\n",
        opts.grad_accum, in->model.batch_size, opts.grad_accum * in->model.batch_size);
  if (World().size() > 1)
    std::cout << absl::StrFormat(
        "data parallel: %d replicas x batch %d = global batch %d; gradients averaged by MPI "
        "allreduce\n",
        World().size(), in->model.batch_size, World().size() * in->model.batch_size);
  JitBackend* jit = nullptr;
  absl::StatusOr<std::unique_ptr<Backend>> backend = MakeBackend(flags, in->model, *step, &jit);
  if (!backend.ok()) return Fail(backend.status());
  double best_val = std::numeric_limits<double>::infinity();
  if (auto s = StartFrom(**backend, flags, *in, opts, best_val); !s.ok()) return Fail(s);

  std::ofstream metrics;
  if (in->checkpoints && lead) {
    opts.checkpoint_interval = flags.GetInt("checkpoint-interval");
    opts.on_checkpoint = [&, recorded = RecordedFlags(flags, opts, adamw, in->data)](
                             const TrainPoint& p) -> absl::Status {
      const bool better = p.evaluated && p.val_loss < best_val;
      if (better) best_val = p.val_loss;
      ASSIGN_OR_RETURN(Checkpoint c, Capture(**backend, in->model, in->data.tokenizer().state(), p,
                                             best_val, recorded));
      RETURN_IF_ERROR(WriteCheckpoint(LatestCheckpoint(in->out_dir), c));
      if (better) RETURN_IF_ERROR(WriteCheckpoint(BestCheckpoint(in->out_dir), c));
      return absl::OkStatus();
    };
    // Appended to on --resume, so one file holds the whole run.
    metrics.open(in->out_dir + "/metrics.jsonl", in->resume ? std::ios::app : std::ios::trunc);
    if (!metrics)
      return Fail(absl::PermissionDeniedError("cannot write " + in->out_dir + "/metrics.jsonl"));
    opts.metrics = &metrics;
  }
  if (InteractiveTerminal() && flags.GetBool("progress") && lead) opts.status = &std::cout;

  auto report = Train(**backend, in->data, in->model, opts, &std::cout);
  if (opts.status) std::cout << "\r\033[K";
  if (!report.ok()) return Fail(report.status());
  PrintRunReport(flags, opts, *report, jit, step->plan);
  if (flags.GetInt("sample-tokens") > 0 && lead)
    if (auto s = PrintSample(**backend, flags, *in); !s.ok()) return Fail(s);
  return 0;
}

}  // namespace gptc::tools
