// `gptc eval`: builds a freshly initialised model and prints its loss on one real batch.
#include <chrono>
#include <cmath>
#include <iostream>

#include "absl/strings/str_format.h"
#include "frontend/nn/gpt.h"
#include "ir/interpreter.h"
#include "runtime/data_path.h"
#include "runtime/text_dataset.h"
#include "tools/commands.h"
#include "tools/model_flags.h"

namespace gptc::tools {

int RunEval(const Args& args) {
  FlagSet flags("eval");
  AddModelFlags(flags, "shakespeare-cpu");
  flags.String("data", "", "training text (default: see README, 'Data')");
  flags.Int("seed", 1337, "seed of the parameter initialisation");
  flags.Int("batch-seed", 1, "seed of the batch sampler");
  flags.String("split", "val", "which split to draw the batch from: train or val");
  flags.String("backend", "interp", "execution backend: interp");
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc eval [flags]\nLoss of a freshly initialised model on one batch.\n\n"
              << flags.Usage();
    return 0;
  }
  const std::string split_name = flags.GetString("split");
  if (split_name != "train" && split_name != "val")
    return Fail(absl::InvalidArgumentError("--split must be train or val, got '" + split_name + "'"), 2);
  if (flags.GetString("backend") != "interp")
    return Fail(absl::InvalidArgumentError("--backend must be interp (the only backend so far), got '" +
                                           flags.GetString("backend") + "'"), 2);
  auto cfg = ConfigFromFlags(flags);
  if (!cfg.ok()) return Fail(cfg.status(), 2);
  auto data = LoadData(flags, &*cfg);
  if (!data.ok()) return Fail(data.status());

  auto model = nn::BuildGpt(*cfg);
  if (!model.ok()) return Fail(model.status());
  ir::LiteralMap args_map = InitParams(model->params, flags.GetInt("seed"));
  Rng rng(flags.GetInt("batch-seed"));
  auto batch = data->Sample(split_name == "train" ? Split::kTrain : Split::kVal,
                            cfg->batch_size, cfg->block_size, rng);
  if (!batch.ok()) return Fail(batch.status());
  args_map["tokens"] = batch->tokens;
  args_map["targets"] = batch->targets;

  const auto start = std::chrono::steady_clock::now();
  auto out = ir::Interpret(model->graph, args_map);
  if (!out.ok()) return Fail(out.status());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double loss = (*out)[1].data[0];
  std::cout << absl::StrFormat(
      "config %s: %d parameters, vocab %d (from %s)\n"
      "loss on one %s batch (B=%d, T=%d): %.6f   ln(vocab) = %.6f   [%s backend, %.2f s]\n",
      cfg->name, CountParams(model->params), cfg->vocab, data->origin(), split_name, cfg->batch_size,
      cfg->block_size, loss, std::log(static_cast<double>(cfg->vocab)), flags.GetString("backend"),
      secs);
  return 0;
}

}  // namespace gptc::tools
