#include "runtime/model_state.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "frontend/model_registry.h"
#include "ir/status_macros.h"
#include "nlohmann/json.hpp"
#include "runtime/safetensors.h"

namespace gptc {

absl::StatusOr<Checkpoint> Capture(const Backend& backend, const Model& model,
                                   const std::string& vocabulary, const TrainPoint& point,
                                   double best_val_loss,
                                   const std::map<std::string, std::string>& flags) {
  Checkpoint c;
  c.arch = model.arch;
  c.model_name = model.name;
  c.config = model.config;
  c.tokenizer = model.tokenizer;
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
  if (c.tokenizer != model.tokenizer)
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", path, " uses tokenizer '",
                                                      c.tokenizer, "', this model '",
                                                      model.tokenizer, "'"));
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
  if (absl::Status s = CheckTokenizerName(c.tokenizer); !s.ok())
    return absl::DataLossError(absl::StrCat("checkpoint ", path, ": ", s.message()));
  m->tokenizer = c.tokenizer;
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
      return absl::FailedPreconditionError(absl::StrCat("--init-from ", path, " has no tensor '",
                                                        external, "' (gptc's %", p.name, ")"));
    if (it->second->shape != p.type.shape)
      return absl::FailedPreconditionError(
          absl::StrCat("--init-from ", path, ": tensor '", it->first, "' is ",
                       ir::ShapeToString(it->second->shape), ", the model's %", p.name, " is ",
                       ir::ShapeToString(p.type.shape)));
  }
  std::map<std::string, ir::Literal> out;
  for (const ParamSpec& p : params)
    out.emplace(p.name, ir::Literal::FromFloats(
                            p.type.shape, by_name.at(model.ExternalNames(p.name).front())->data));
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

absl::StatusOr<int64_t> ExportSafetensors(const Model& model, const Checkpoint& c,
                                          const std::string& source, const std::string& to) {
  ASSIGN_OR_RETURN(std::vector<ParamSpec> params, model.Params());
  std::map<std::string, const Checkpoint::Tensor*> by_name;
  for (const Checkpoint::Tensor& t : c.tensors) by_name[t.name] = &t;
  std::vector<NamedTensor> out;
  for (const ParamSpec& p : params) {  // parameters only: the moments stay in the checkpoint
    auto it = by_name.find(p.name);
    if (it == by_name.end())
      return absl::DataLossError(absl::StrCat("checkpoint ", source, " has no tensor %", p.name));
    for (const std::string& name : model.ExternalNames(p.name))  // tied tensors: each name
      out.push_back({name, it->second->shape, it->second->data});
  }
  std::map<std::string, std::string> meta = model.export_metadata;
  meta["step"] = absl::StrCat(c.step);
  // The config file first: its values are checked before any file is written.
  std::string config_text;
  if (!model.export_config_file.empty()) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [k, v] : model.export_config) {
      try {
        j[k] = nlohmann::ordered_json::parse(v);
      } catch (const nlohmann::json::exception&) {
        return absl::InternalError(
            absl::StrCat("model ", model.name, ": export config value ", k, " is not JSON: ", v));
      }
    }
    config_text = j.dump(2) + "\n";
  }
  // --to=DIR/model.safetensors makes DIR, as save_pretrained does.
  if (const std::filesystem::path dir = std::filesystem::path(to).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return absl::PermissionDeniedError(absl::StrCat("cannot create the directory ", dir.string(),
                                                      " of ", to, ": ", ec.message()));
  }
  RETURN_IF_ERROR(WriteSafetensors(to, out, meta));
  if (!config_text.empty()) {
    const std::filesystem::path config =
        std::filesystem::path(to).parent_path() / model.export_config_file;
    std::ofstream f(config, std::ios::binary | std::ios::trunc);
    f << config_text;
    if (!f.flush())
      return absl::PermissionDeniedError(absl::StrCat("cannot write ", config.string()));
  }
  return static_cast<int64_t>(out.size());
}

}  // namespace gptc
