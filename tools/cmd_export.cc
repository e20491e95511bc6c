// `gptc export`: a checkpoint's parameters as safetensors under nanoGPT's names and layouts,
// so `GPT.load_state_dict` (after reading the file) takes them as they are.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "frontend/nn/gpt.h"
#include "runtime/checkpoint.h"
#include "runtime/safetensors.h"
#include "tools/commands.h"
#include "tools/model_flags.h"
#include "tools/train_checkpoints.h"

namespace gptc::tools {

int RunExport(const Args& args) {
  FlagSet flags("export");
  AddCheckpointSourceFlags(flags, "export", "out");
  flags.String("to", "", "the .safetensors file to write");
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc export --to=FILE.safetensors [flags]\nWrites a checkpoint's "
                 "parameters under nanoGPT's "
                 "names.\n\n"
              << flags.Usage();
    return 0;
  }
  if (flags.GetString("to").empty())
    return Fail(absl::InvalidArgumentError("--to=FILE.safetensors is required"), 2);
  const std::string path = CheckpointPath(flags);
  auto c = ReadCheckpoint(path);
  if (!c.ok()) return Fail(c.status());
  auto model = nn::BuildGpt(c->config);
  if (!model.ok()) return Fail(model.status());
  std::map<std::string, const Checkpoint::Tensor*> by_name;
  for (const Checkpoint::Tensor& t : c->tensors) by_name[t.name] = &t;
  std::vector<NamedTensor> out;
  for (const ParamSpec& p : model->params) {  // parameters only: the moments stay in the checkpoint
    auto it = by_name.find(p.name);
    if (it == by_name.end())
      return Fail(
          absl::DataLossError(absl::StrCat("checkpoint ", path, " has no tensor %", p.name)));
    out.push_back({NanoGptName(p.name), it->second->shape, it->second->data});
    if (p.name == "wte")
      out.push_back({"lm_head.weight", it->second->shape, it->second->data});  // tied
  }
  const GptConfig& g = c->config;
  const std::map<std::string, std::string> meta = {{"format", "pt"},
                                                   {"n_layer", absl::StrCat(g.n_layer)},
                                                   {"n_head", absl::StrCat(g.n_head)},
                                                   {"n_embd", absl::StrCat(g.n_embd)},
                                                   {"block_size", absl::StrCat(g.block_size)},
                                                   {"vocab_size", absl::StrCat(g.vocab)},
                                                   {"bias", g.bias ? "True" : "False"},
                                                   {"step", absl::StrCat(c->step)}};
  if (auto s = WriteSafetensors(flags.GetString("to"), out, meta); !s.ok()) return Fail(s);
  std::cout << "wrote " << out.size() << " tensors of " << path << " (step " << c->step << ") to "
            << flags.GetString("to") << "\n";
  return 0;
}

}  // namespace gptc::tools
