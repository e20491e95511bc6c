// Checkpoints of `gptc train` and `gptc eval`: the out-dir, what goes into a checkpoint, and
// restoring a backend from one. See runtime/checkpoint.h for the file format.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "frontend/param_init.h"
#include "runtime/backend.h"
#include "runtime/checkpoint.h"
#include "runtime/trainer.h"
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

// A checkpoint of the backend's parameters and moments at `point`.
absl::StatusOr<Checkpoint> Capture(const Backend& backend, const Model& model,
                                   const std::string& vocabulary, const TrainPoint& point,
                                   double best_val_loss,
                                   const std::map<std::string, std::string>& flags);

// Reads `path` and checks it against the run: same model shape and vocabulary.
absl::StatusOr<Checkpoint> LoadMatching(const std::string& path, const Model& model,
                                        const std::string& vocabulary);

// The model a checkpoint was trained with, rebuilt by its family (frontend/model_registry.h).
absl::StatusOr<Model> CheckpointModel(const Checkpoint& c, const std::string& path);

// The parameters of a safetensors file under the model's external names (Model::
// external_names; GPT's are nanoGPT's), by gptc name (extra tensors, such as lm_head.weight,
// are ignored); a missing tensor or another shape is an error naming it. Read before anything
// is compiled; ApplyParameters sets them.
absl::StatusOr<std::map<std::string, ir::Literal>> ReadInitFrom(const Model& model,
                                                                const std::string& path);
absl::Status ApplyParameters(Backend& backend, const std::map<std::string, ir::Literal>& params);

// Puts the checkpoint's tensors into the backend; every tensor of the backend must be there
// with its shape (an error names the first one missing or mismatched).
absl::Status Restore(Backend& backend, const Checkpoint& c, const std::string& path);

}  // namespace gptc::tools
