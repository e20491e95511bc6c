// Flags shared by every command that builds a model: a preset (--config), a family (--arch),
// and an override flag for each config key of the registered families (--n-layer for n_layer).
#pragma once

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "runtime/text_dataset.h"
#include "tools/flags.h"

namespace gptc::tools {

void AddModelFlags(FlagSet& flags, const std::string& default_config);
// The preset named by --config (or, with only --arch, that family's first preset) with the
// overrides given, validated by its family. An override the family has no key for is an error
// naming the flag and the arch.
absl::StatusOr<Model> ModelFromFlags(const FlagSet& flags);

// The text named by --data (or found at the default places), with the model's vocab set from
// its tokenizer.
absl::StatusOr<TextDataset> LoadData(const FlagSet& flags, Model* model);

// Prints a status to stderr as `gptc: <message>` and returns the exit code for it.
int Fail(const absl::Status& s, int code = 1);

}  // namespace gptc::tools
