// Flags shared by every command that builds a model: a preset and per-field overrides.
#pragma once

#include "absl/status/statusor.h"
#include "frontend/config.h"
#include "runtime/text_dataset.h"
#include "tools/flags.h"

namespace gptc::tools {

void AddModelFlags(FlagSet& flags, const std::string& default_config);
// The preset named by --config with any of --n-layer, --n-head, --n-embd, --block-size,
// --batch-size applied, validated.
absl::StatusOr<GptConfig> ConfigFromFlags(const FlagSet& flags);

// The text named by --data (or found at the default places), with cfg->vocab set from its
// tokenizer.
absl::StatusOr<TextDataset> LoadData(const FlagSet& flags, GptConfig* cfg);

// Prints a status to stderr as `gptc: <message>` and returns the exit code for it.
int Fail(const absl::Status& s, int code = 1);

}  // namespace gptc::tools
