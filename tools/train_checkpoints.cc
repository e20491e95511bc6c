#include "tools/train_checkpoints.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "frontend/model_registry.h"
#include "ir/status_macros.h"
#include "runtime/safetensors.h"

namespace gptc::tools {

std::string LatestCheckpoint(const std::string& out_dir) { return out_dir + "/ckpt.bin"; }
std::string BestCheckpoint(const std::string& out_dir) { return out_dir + "/best.bin"; }

void AddCheckpointSourceFlags(FlagSet& flags, const std::string& verb,
                              const std::string& out_dir_default) {
  flags.String("out-dir", out_dir_default, "the run whose checkpoint (ckpt.bin) to " + verb);
  flags.String("checkpoint", "",
               "a checkpoint file to use instead of --out-dir's (e.g. out/best.bin)");
}

std::string CheckpointPath(const FlagSet& flags) {
  return !flags.GetString("checkpoint").empty() ? flags.GetString("checkpoint")
                                                : LatestCheckpoint(flags.GetString("out-dir"));
}

absl::Status PrepareOutDir(const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    return absl::PermissionDeniedError(
        absl::StrCat("--out-dir ", out_dir, " cannot be created: ", ec.message()));
  const std::string probe = absl::StrCat(out_dir, "/.gptc-write-test-", getpid());
  {
    std::ofstream f(probe);
    f << "ok";
    if (!f.good())
      return absl::PermissionDeniedError(absl::StrCat("--out-dir ", out_dir, " is not writable"));
  }
  std::filesystem::remove(probe, ec);
  // A write that was killed halfway leaves its temporary behind; the checkpoints it was to
  // replace are intact, and the temporary is garbage.
  for (const char* name : {"ckpt.bin.tmp", "best.bin.tmp"})
    std::filesystem::remove(absl::StrCat(out_dir, "/", name), ec);
  return absl::OkStatus();
}

absl::StatusOr<Checkpoint> Capture(const Backend& backend, const Model& model,
                                   const std::string& vocabulary, const TrainPoint& point,
                                   double best_val_loss,
                                   const std::map<std::string, std::string>& flags) {
  Checkpoint c;
  c.arch = model.arch;
  c.model_name = model.name;
  c.config = model.config;
  c.vocabulary = vocabulary;
  c.step = point.step;
  c.rng_state = point.rng_state;
  c.best_val_loss = best_val_loss;
  c.flags = flags;
  ASSIGN_OR_RETURN(c.tensors, backend.StateTensors());
  return c;
}

absl::StatusOr<Checkpoint> LoadMatching(const std::string& path, const Model& model,
                                        const std::string& vocabulary) {
  ASSIGN_OR_RETURN(Checkpoint c, ReadCheckpoint(path));
  RETURN_IF_ERROR(CheckSameModel(path, c.arch, c.config, model));
  if (c.vocabulary != vocabulary)
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint ", path, " was trained on another vocabulary (",
                     c.vocabulary.size(), " symbols; this text has ", vocabulary.size(), ")"));
  return c;
}

absl::StatusOr<Model> CheckpointModel(const Checkpoint& c, const std::string& path) {
  absl::StatusOr<Model> m = MakeModel(c.arch, c.model_name, c.config);
  if (!m.ok())
    return absl::Status(m.status().code(),
                        absl::StrCat("checkpoint ", path, ": ", m.status().message()));
  return m;
}

absl::StatusOr<std::map<std::string, ir::Literal>> ReadInitFrom(const Model& model,
                                                                const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<ParamSpec> params, model.Params());
  ASSIGN_OR_RETURN(std::vector<NamedTensor> tensors, ReadSafetensors(path));
  std::map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : tensors) by_name[t.name] = &t;
  for (const ParamSpec& p : params) {
    const std::string external = model.ExternalNames(p.name).front();
    auto it = by_name.find(external);
    if (it == by_name.end())
      return absl::FailedPreconditionError(absl::StrCat(
          "--init-from ", path, " has no tensor '", external, "' (gptc's %", p.name, ")"));
    if (it->second->shape != p.type.shape)
      return absl::FailedPreconditionError(
          absl::StrCat("--init-from ", path, ": tensor '", it->first, "' is ",
                       ir::ShapeToString(it->second->shape), ", the model's %", p.name, " is ",
                       ir::ShapeToString(p.type.shape)));
  }
  std::map<std::string, ir::Literal> out;
  for (const ParamSpec& p : params)
    out.emplace(p.name,
                ir::Literal::FromFloats(p.type.shape, by_name.at(model.ExternalNames(p.name).front())->data));
  return out;
}

absl::Status ApplyParameters(Backend& backend, const std::map<std::string, ir::Literal>& params) {
  for (const auto& [name, lit] : params) RETURN_IF_ERROR(backend.SetState(name, lit));
  return absl::OkStatus();
}

absl::Status Restore(Backend& backend, const Checkpoint& c, const std::string& path) {
  std::map<std::string, const Checkpoint::Tensor*> by_name;
  for (const Checkpoint::Tensor& t : c.tensors) by_name[t.name] = &t;
  ASSIGN_OR_RETURN(std::vector<Checkpoint::Tensor> state, backend.StateTensors());
  for (const Checkpoint::Tensor& t : state) {  // check everything before changing anything
    auto it = by_name.find(t.name);
    if (it == by_name.end())
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint ", path, " has no tensor %", t.name));
    if (it->second->shape != t.shape)
      return absl::FailedPreconditionError(absl::StrCat(
          "checkpoint ", path, ": tensor %", t.name, " is ", ir::ShapeToString(it->second->shape),
          ", the model's is ", ir::ShapeToString(t.shape)));
  }
  for (const Checkpoint::Tensor& t : state)
    RETURN_IF_ERROR(
        backend.SetState(t.name, ir::Literal::FromFloats(t.shape, by_name.at(t.name)->data)));
  return absl::OkStatus();
}

}  // namespace gptc::tools
