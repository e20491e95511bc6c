// `gptc eval`: the loss of a trained checkpoint (--out-dir / --checkpoint) on the compiled
// backend over several batches, or of a freshly initialised model on one real batch (the
// reference interpreter).
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "frontend/model_registry.h"
#include "ir/interpreter.h"
#include "ir/rng.h"
#include "nlohmann/json.hpp"
#include "runtime/data_path.h"
#include "runtime/jit_backend.h"
#include "runtime/text_dataset.h"
#include "tools/commands.h"
#include "tools/compiler_flags.h"
#include "tools/fusion_flags.h"
#include "tools/model_flags.h"
#include "tools/train_checkpoints.h"

namespace gptc::tools {
namespace {

int EvalCheckpoint(const FlagSet& flags, Split split) {
  const std::string path = CheckpointPath(flags);
  if (flags.GetInt("batches") <= 0)
    return Fail(absl::InvalidArgumentError("--batches must be positive"), 2);
  passes::StepOptions step;
  if (auto p = PrecisionFromFlags(flags); !p.ok()) {
    return Fail(p.status(), 2);
  } else {
    step.gemm_dtype = *p;
  }
  auto c = ReadCheckpoint(path);
  if (!c.ok()) return Fail(c.status());
  auto saved = CheckpointModel(*c, path);
  if (!saved.ok()) return Fail(saved.status());
  Model cfg = *saved;
  if (flags.IsSet("batch-size")) {
    auto m = Reconfigure(cfg, {{"batch_size", absl::StrCat(flags.GetInt("batch-size"))}});
    if (!m.ok()) return Fail(m.status(), 2);
    cfg = *std::move(m);
  }
  Model data_cfg = cfg;
  auto data = LoadData(flags, &data_cfg);
  if (!data.ok()) return Fail(data.status());
  if (auto s = LoadMatching(path, cfg, data->tokenizer().state()); !s.ok())
    return Fail(s.status());
  const codegen::CompilerOptions co = CompilerOptionsFromFlags(flags);
  // Only the eval step is compiled (the sampling step too, later, if logits are dumped).
  auto jit = JitBackend::Create(cfg, 1, step, co, {JitBackend::Step::kEval});
  if (!jit.ok()) return Fail(jit.status());
  if (auto s = Restore(**jit, *c, path); !s.ok()) return Fail(s);
  Rng rng(flags.GetInt("batch-seed"));
  double sum = 0;
  for (int64_t i = 0; i < flags.GetInt("batches"); ++i) {
    auto batch = data->Sample(split, cfg.batch_size, cfg.block_size, rng);
    if (!batch.ok()) return Fail(batch.status());
    auto loss = (*jit)->EvalLoss(*batch);
    if (!loss.ok()) return Fail(loss.status());
    sum += *loss;
  }
  if (const std::string dump = flags.GetString("dump-logits"); !dump.empty()) {
    Rng seq_rng(flags.GetInt("batch-seed"));
    auto b = data->Sample(split, 1, cfg.block_size, seq_rng);
    if (!b.ok()) return Fail(b.status());
    auto logits = (*jit)->Logits(b->tokens);
    if (!logits.ok()) return Fail(logits.status());
    nlohmann::ordered_json j;
    j["tokens"] = std::vector<int>(b->tokens.data.begin(), b->tokens.data.end());
    j["logits"] = std::vector<float>(logits->data.begin(), logits->data.end());
    j["shape"] = logits->type.shape;
    std::ofstream out(dump);
    out << j << "\n";
    out.close();
    if (!out) return Fail(absl::PermissionDeniedError("cannot write --dump-logits file " + dump));
  }
  std::cout << absl::StrFormat(
      "checkpoint %s (step %d, %s): %s loss %.4f over %d batches (B=%d, T=%d) [jit]\n", path,
      c->step, cfg.name, split == Split::kTrain ? "train" : "val", sum / flags.GetInt("batches"),
      flags.GetInt("batches"), cfg.batch_size, cfg.block_size);
  return 0;
}

}  // namespace

int RunEval(const Args& args) {
  FlagSet flags("eval");
  AddModelFlags(flags, "shakespeare-cpu");
  flags.String("data", "", "training text (default: see README, 'Data')");
  flags.Int("seed", 1337, "seed of the parameter initialisation");
  flags.Int("batch-seed", 1, "seed of the batch sampler");
  flags.String("split", "val", "which split to draw the batch from: train or val");
  flags.String("backend", "interp", "execution backend of a fresh model: interp");
  AddCheckpointSourceFlags(flags, "evaluate on the compiled backend (neither: a fresh model)", "");
  AddCompilerFlags(flags);
  AddPrecisionFlag(flags);
  flags.Int("batches", 20, "batches to average over, for a checkpoint");
  flags.String(
      "dump-logits", "",
      "also write the tokens and logits of one sequence as JSON (scripts/check_nanogpt_load.py)");
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc eval [flags]\nLoss of a freshly initialised model on one batch.\n\n"
              << flags.Usage();
    return 0;
  }
  const std::string split_name = flags.GetString("split");
  if (split_name != "train" && split_name != "val")
    return Fail(
        absl::InvalidArgumentError("--split must be train or val, got '" + split_name + "'"), 2);
  if (flags.GetString("backend") != "interp")
    return Fail(
        absl::InvalidArgumentError("--backend must be interp (the only backend so far), got '" +
                                   flags.GetString("backend") + "'"),
        2);
  if (!flags.GetString("out-dir").empty() || !flags.GetString("checkpoint").empty())
    return EvalCheckpoint(flags, split_name == "train" ? Split::kTrain : Split::kVal);
  auto cfg = ModelFromFlags(flags);
  if (!cfg.ok()) return Fail(cfg.status(), 2);
  auto data = LoadData(flags, &*cfg);
  if (!data.ok()) return Fail(data.status());

  auto model = cfg->forward({.batch = cfg->batch_size, .training = false});
  if (!model.ok()) return Fail(model.status());
  ir::LiteralMap args_map = InitParams(model->params, flags.GetInt("seed"));
  Rng rng(flags.GetInt("batch-seed"));
  auto batch = data->Sample(split_name == "train" ? Split::kTrain : Split::kVal, cfg->batch_size,
                            cfg->block_size, rng);
  if (!batch.ok()) return Fail(batch.status());
  args_map["tokens"] = batch->tokens;
  args_map["targets"] = batch->targets;

  const auto start = std::chrono::steady_clock::now();
  auto out = ir::Interpret(model->graph, args_map);
  if (!out.ok()) return Fail(out.status());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double loss = (*out)[1].data[0];
  std::cout << absl::StrFormat(
      "model %s: %d parameters, vocab %d (from %s)\n"
      "loss on one %s batch (B=%d, T=%d): %.6f   ln(vocab) = %.6f   [%s backend, %.2f s]\n",
      cfg->name, CountParams(model->params), cfg->vocab, data->origin(), split_name,
      cfg->batch_size, cfg->block_size, loss, std::log(static_cast<double>(cfg->vocab)),
      flags.GetString("backend"), secs);
  return 0;
}

}  // namespace gptc::tools
