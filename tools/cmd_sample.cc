// `gptc sample`: text from a trained checkpoint, streamed as it is generated.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/checkpoint.h"
#include "runtime/jit_backend.h"
#include "runtime/sampler.h"
#include "runtime/text_tokenizer.h"
#include "tools/commands.h"
#include "tools/compiler_flags.h"
#include "tools/fusion_flags.h"
#include "tools/model_flags.h"
#include "tools/train_checkpoints.h"

namespace gptc::tools {

int RunSample(const Args& args) {
  FlagSet flags("sample");
  AddCheckpointSourceFlags(flags, "sample", "out");
  flags.String("prompt", "\n",
               "text to continue (every character must be in the model's vocabulary)");
  flags.Int("tokens", 500, "characters to generate per sample");
  flags.Double("temperature", 0.8, "sampling temperature (> 0)");
  flags.Int("top-k", 0, "sample from the k most likely tokens (0: all)");
  flags.Int("seed", 1, "sampling seed");
  flags.Int("num-samples", 1, "how many samples");
  flags.Bool("kv-cache", true,
             "decode with a KV cache (false: recompute the whole window for every token)");
  AddCompilerFlags(flags);
  AddPrecisionFlag(flags);
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc sample [flags]\nGenerates text from a trained checkpoint.\n\n"
              << flags.Usage();
    return 0;
  }
  passes::StepOptions step;
  if (auto p = PrecisionFromFlags(flags); !p.ok()) {
    return Fail(p.status(), 2);
  } else {
    step.gemm_dtype = *p;
  }
  if (flags.GetInt("tokens") < 0 || flags.GetInt("num-samples") < 1 || flags.GetInt("top-k") < 0 ||
      !(flags.GetDouble("temperature") > 0))
    return Fail(
        absl::InvalidArgumentError("--tokens must be >= 0, --num-samples >= 1, --top-k >= 0 and "
                                   "--temperature > 0"),
        2);
  const std::string path = CheckpointPath(flags);
  // Everything the user gave is checked before compiling: the checkpoint, then the prompt.
  auto c = ReadCheckpoint(path);
  if (!c.ok()) return Fail(c.status());
  auto model = CheckpointModel(*c, path);
  if (!model.ok()) return Fail(model.status());
  auto tok = MakeTokenizerFromState(c->tokenizer, c->vocabulary);
  if (!tok.ok()) return Fail(tok.status());
  const std::string prompt = flags.GetString("prompt");
  if (auto ids = (*tok)->Encode(prompt); !ids.ok())
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--prompt: ", ids.status().message(),
                     " (the model knows only the characters it was trained on)")));
  const codegen::CompilerOptions co = CompilerOptionsFromFlags(flags);
  const bool kv = flags.GetBool("kv-cache");
  using Step = JitBackend::Step;
  auto jit = JitBackend::Create(
      *model, 1, step, co,
      kv ? std::vector<Step>{Step::kPrefill, Step::kDecode} : std::vector<Step>{Step::kSample});
  if (!jit.ok()) return Fail(jit.status());
  if (auto s = Restore(**jit, *c, path); !s.ok()) return Fail(s);
  for (int64_t i = 0; i < flags.GetInt("num-samples"); ++i) {
    SampleOptions so;
    so.prompt = prompt;
    so.max_new_tokens = flags.GetInt("tokens");
    so.temperature = flags.GetDouble("temperature");
    so.top_k = flags.GetInt("top-k");
    so.seed = static_cast<uint64_t>(flags.GetInt("seed") + i);
    so.kv_cache = kv;
    so.on_text = [](const std::string& piece) { std::cout << piece << std::flush; };
    std::cout << prompt;
    auto text = SampleText(**jit, **tok, model->block_size, so);
    if (!text.ok()) return Fail(text.status());
    std::cout << "\n---------------\n";
  }
  return 0;
}

}  // namespace gptc::tools
