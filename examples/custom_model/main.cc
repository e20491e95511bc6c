// Trains the RmsGpt of rms_gpt.cc on Tiny Shakespeare through gptc's public API: compile the
// step graphs with the JIT, train, save a checkpoint, restore it into a fresh backend, sample
// over the KV cache and export the weights as safetensors.
//
//   custom_model [--steps=N] [--data=FILE] [--out=DIR]
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "rms_gpt.h"
#include "runtime/data_path.h"
#include "runtime/jit_backend.h"
#include "runtime/model_state.h"
#include "runtime/sampler.h"
#include "runtime/text_dataset.h"

using namespace gptc;

int Fail(const absl::Status& s) { return std::cerr << "custom_model: " << s.message() << "\n", 1; }

int main(int argc, char** argv) {
  int64_t steps = 200;
  std::string data_flag, out = "/tmp/custom_model";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (absl::StartsWith(a, "--steps=") && absl::SimpleAtoi(a.substr(8), &steps) && steps > 0) continue;
    if (absl::StartsWith(a, "--data=")) { data_flag = a.substr(7); continue; }
    if (absl::StartsWith(a, "--out=")) { out = a.substr(6); continue; }
    return std::cerr << "usage: custom_model [--steps=N] [--data=FILE] [--out=DIR]\n", 2;
  }
  auto path = ResolveDataPath(data_flag);  // --data, $GPTC_DATA, or data/ found from here
  if (!path.ok()) return Fail(path.status());
  auto data = TextDataset::Load(*path);
  if (!data.ok()) return Fail(data.status());

  // 1. The model: a DSL function and its description.
  auto model = RmsGpt(data->tokenizer().vocab_size(), /*block_size=*/64, /*batch_size=*/12,
                      /*n_layer=*/2, /*n_head=*/4, /*n_embd=*/128);
  if (!model.ok()) return Fail(model.status());
  std::cout << "model " << model->Summary() << "\n";

  // 2. Compile: autodiff, AdamW, fusion, memory planning, Halide kernels through LLVM's JIT.
  auto backend = JitBackend::Create(*model, /*seed=*/1337);
  if (!backend.ok()) return Fail(backend.status());

  // 3. Train with nanoGPT's schedule.
  TrainOptions opts;
  opts.steps = steps;
  opts.schedule.lr = 1e-3;
  opts.schedule.min_lr = 1e-4;
  opts.schedule.warmup_steps = steps / 10;
  opts.schedule.decay_steps = steps;
  opts.eval_interval = steps;
  opts.eval_batches = 10;
  opts.log_interval = steps / 4 > 0 ? steps / 4 : 1;
  auto report = Train(**backend, *data, *model, opts, &std::cout);
  if (!report.ok()) return Fail(report.status());

  // 4. Save a checkpoint, then restore it into a second backend that compiles only sampling.
  std::system(("mkdir -p " + out).c_str());
  const std::string ckpt = out + "/ckpt.bin";
  auto c = Capture(**backend, *model, data->tokenizer().state(),
                   {steps, "", true, report->evals.back().val_loss}, report->evals.back().val_loss, {});
  if (!c.ok()) return Fail(c.status());
  if (auto s = WriteCheckpoint(ckpt, *c); !s.ok()) return Fail(s);
  auto loaded = LoadMatching(ckpt, *model, data->tokenizer().state());
  if (!loaded.ok()) return Fail(loaded.status());
  auto sampler = JitBackend::Create(*model, 1, {}, {}, {JitBackend::Step::kPrefill, JitBackend::Step::kDecode});
  if (!sampler.ok()) return Fail(sampler.status());
  if (auto s = Restore(**sampler, *loaded, ckpt); !s.ok()) return Fail(s);

  // 5. Sample over the KV cache, and export the weights.
  SampleOptions so;
  so.max_new_tokens = 200;
  auto text = SampleText(**sampler, data->tokenizer(), model->block_size, so);
  if (!text.ok()) return Fail(text.status());
  std::cout << "----- sample -----\n" << *text << "\n------------------\n";
  auto n = ExportSafetensors(*model, *loaded, ckpt, out + "/model.safetensors");
  if (!n.ok()) return Fail(n.status());
  std::cout << "val loss " << report->evals.back().val_loss << "; wrote " << ckpt << " and "
            << *n << " tensors to " << out << "/model.safetensors\n";
  return 0;
}
