// A model's state in a backend, and files: checkpoints of a run (capture, check, restore) and
// parameters read from a safetensors file under the model's external names. The file formats
// are runtime/checkpoint.h and runtime/safetensors.h.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "frontend/param_init.h"
#include "runtime/backend.h"
#include "runtime/checkpoint.h"
#include "runtime/trainer.h"

namespace gptc {

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

// Writes the checkpoint's parameters (not the moments) to a safetensors file under the model's
// external names (a tied tensor under each of its names), with Model::export_metadata and the
// step, and the model's config file (Model::export_config_file) beside it; returns the number
// of tensors written. `source` names the checkpoint in errors.
absl::StatusOr<int64_t> ExportSafetensors(const Model& model, const Checkpoint& c,
                                          const std::string& source, const std::string& to);

}  // namespace gptc
