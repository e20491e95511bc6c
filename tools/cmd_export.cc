// `gptc export`: a checkpoint's parameters as safetensors under its model's external names
// (Model::external_names: for GPT nanoGPT's names and layouts, so `GPT.load_state_dict`
// takes them as they are).
#include <iostream>

#include "absl/strings/str_cat.h"
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
                 "parameters under its model family's external "
                 "names (GPT: nanoGPT's).\n\n"
              << flags.Usage();
    return 0;
  }
  if (flags.GetString("to").empty())
    return Fail(absl::InvalidArgumentError("--to=FILE.safetensors is required"), 2);
  const std::string path = CheckpointPath(flags);
  auto c = ReadCheckpoint(path);
  if (!c.ok()) return Fail(c.status());
  auto model = CheckpointModel(*c, path);
  if (!model.ok()) return Fail(model.status());
  auto written = ExportSafetensors(*model, *c, path, flags.GetString("to"));
  if (!written.ok()) return Fail(written.status());
  std::cout << "wrote " << *written << " tensors of " << path << " (step " << c->step << ") to "
            << flags.GetString("to") << "\n";
  return 0;
}

}  // namespace gptc::tools
