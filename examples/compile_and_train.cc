// Compiles a small GPT's train step with the JIT and trains it for a few hundred steps on
// Tiny Shakespeare: the DSL graph, the pass pipeline (autodiff, AdamW, fusion), compiled
// kernels, the training loop and a sample, as a program using the library would do it.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "frontend/model_registry.h"
#include "runtime/data_path.h"
#include "runtime/jit_backend.h"
#include "runtime/sampler.h"
#include "runtime/text_dataset.h"
#include "runtime/trainer.h"

int main() {
  using namespace gptc;
  auto path = ResolveDataPath("");
  if (!path.ok()) return std::cerr << path.status().message() << "\n", 1;
  auto data = TextDataset::Load(*path);
  if (!data.ok()) return std::cerr << data.status().message() << "\n", 1;

  // A smaller model than the preset (this is an example), with the text's vocabulary.
  auto cfg = PresetModel("shakespeare-cpu",
                         {{"n_layer", "2"},
                          {"vocab", absl::StrCat(data->tokenizer().vocab_size())}});
  if (!cfg.ok()) return std::cerr << cfg.status().message() << "\n", 1;

  passes::StepOptions step;  // AdamW defaults, every fusion pattern
  step.fusion.patterns = {"add_layernorm", "scale_mask_softmax", "softmax_xent", "adamw"};
  auto backend = JitBackend::Create(*cfg, /*seed=*/1337, step);  // kernels cached in ~/.cache/gptc
  if (!backend.ok()) return std::cerr << backend.status().message() << "\n", 1;
  const codegen::CompilerStats& cs = (*backend)->compile_stats();
  std::cout << "compiled " << cs.compiled << " kernels, " << cs.cache_hits << " from the cache, in "
            << cs.seconds << " s\n";

  TrainOptions opts;
  opts.steps = 300;
  opts.schedule.lr = 3e-3;
  opts.schedule.min_lr = 3e-4;
  opts.schedule.warmup_steps = 30;
  opts.schedule.decay_steps = opts.steps;
  opts.eval_interval = 100;
  opts.log_interval = 100;
  auto report = Train(**backend, *data, *cfg, opts, &std::cout);
  if (!report.ok()) return std::cerr << report.status().message() << "\n", 1;

  SampleOptions so;
  so.max_new_tokens = 200;
  auto text = SampleText(**backend, data->tokenizer(), cfg->block_size, so);
  if (!text.ok()) return std::cerr << text.status().message() << "\n", 1;
  std::cout << *text << "\n";
  return 0;
}
