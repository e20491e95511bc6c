// Checkpoints of `gptc train` and `gptc eval`: the out-dir, what goes into a checkpoint, and
// restoring a backend from one. See runtime/checkpoint.h for the file format.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "runtime/model_state.h"
#include "tools/flags.h"

namespace gptc::tools {

// The latest and the best-val checkpoint of a run, as nanoGPT keeps them.
std::string LatestCheckpoint(const std::string& out_dir);
std::string BestCheckpoint(const std::string& out_dir);

// --out-dir (a run, whose ckpt.bin is meant; default `out_dir_default`) and --checkpoint (a
// file, which wins), for the commands that read a checkpoint; `verb` says what they do.
void AddCheckpointSourceFlags(FlagSet& flags, const std::string& verb,
                              const std::string& out_dir_default);
std::string CheckpointPath(const FlagSet& flags);

// Creates the directory if needed and proves it writable (a probe file), before any work.
absl::Status PrepareOutDir(const std::string& out_dir);

}  // namespace gptc::tools
