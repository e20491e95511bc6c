#include "frontend/model_registry.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "frontend/nn/gpt_family.h"
#include "frontend/nn/llama_family.h"
#include "ir/check.h"
#include "ir/status_macros.h"

namespace gptc {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<std::unique_ptr<ModelFamily>> families;
};

absl::Status Add(Registry& r, ModelFamily f) {
  if (f.name.empty() || !f.make)
    return absl::InvalidArgumentError("a model family needs a name and a make function");
  for (const char* shared : {"vocab", "block_size", "batch_size"})
    if (!f.FindKey(shared))
      return absl::InvalidArgumentError(
          absl::StrCat("model family '", f.name, "' has no config key '", shared, "'"));
  for (const auto& other : r.families) {
    if (other->name == f.name)
      return absl::AlreadyExistsError(absl::StrCat("model family '", f.name, "' exists"));
    for (const ModelPreset& p : f.presets)
      for (const ModelPreset& q : other->presets)
        if (p.name == q.name)
          return absl::AlreadyExistsError(absl::StrCat("preset '", p.name, "' of family '", f.name,
                                                       "' is already one of '", other->name, "'"));
  }
  r.families.push_back(std::make_unique<ModelFamily>(std::move(f)));
  return absl::OkStatus();
}

// The built-in families are added on first use, so no static initialiser order matters and
// a static library drops none of them.
Registry& TheRegistry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    for (ModelFamily f : {nn::GptFamily(), nn::LlamaFamily()}) {
      absl::Status s = Add(*reg, std::move(f));
      GPTC_CHECK(s.ok()) << s.message();
    }
    return reg;
  }();
  return *r;
}

absl::Status CheckValue(const std::string& arch, const ConfigKey& k, const std::string& v) {
  int64_t i;
  double d;
  bool ok = false;
  switch (k.kind) {
    case ConfigKey::Kind::kInt:
      ok = absl::SimpleAtoi(v, &i);
      break;
    case ConfigKey::Kind::kDouble:
      ok = absl::SimpleAtod(v, &d);
      break;
    case ConfigKey::Kind::kBool:
      ok = v == "0" || v == "1" || v == "true" || v == "false";
      break;
    case ConfigKey::Kind::kChoice:
      ok = std::find(k.choices.begin(), k.choices.end(), v) != k.choices.end();
      break;
  }
  if (ok) return absl::OkStatus();
  const std::string want = k.kind == ConfigKey::Kind::kInt      ? "an integer"
                           : k.kind == ConfigKey::Kind::kDouble ? "a number"
                           : k.kind == ConfigKey::Kind::kBool
                               ? "true or false"
                               : "one of " + absl::StrJoin(k.choices, ", ");
  return absl::InvalidArgumentError(absl::StrCat("model config of arch '", arch, "': '", k.name,
                                                 "' must be ", want, ", not '", v, "'"));
}

std::vector<std::string> KeyNames(const ModelFamily& f) {
  std::vector<std::string> names;
  for (const ConfigKey& k : f.keys) names.push_back(k.name);
  return names;
}

}  // namespace

const ConfigKey* ModelFamily::FindKey(const std::string& key) const {
  for (const ConfigKey& k : keys)
    if (k.name == key) return &k;
  return nullptr;
}

absl::Status RegisterModelFamily(ModelFamily family) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  return Add(r, std::move(family));
}

std::vector<const ModelFamily*> ModelFamilies() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<const ModelFamily*> out;
  for (const auto& f : r.families) out.push_back(f.get());
  return out;
}

absl::StatusOr<const ModelFamily*> FindModelFamily(const std::string& arch) {
  std::vector<std::string> names;
  for (const ModelFamily* f : ModelFamilies()) {
    if (f->name == arch) return f;
    names.push_back(f->name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown arch '", arch, "'; model families are: ", absl::StrJoin(names, ", ")));
}

std::vector<std::string> PresetNames() {
  std::vector<std::string> names;
  for (const ModelFamily* f : ModelFamilies())
    for (const ModelPreset& p : f->presets) names.push_back(p.name);
  return names;
}

absl::StatusOr<const ModelFamily*> PresetFamily(const std::string& preset) {
  for (const ModelFamily* f : ModelFamilies())
    for (const ModelPreset& p : f->presets)
      if (p.name == preset) return f;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown config '", preset, "'; presets are: ", absl::StrJoin(PresetNames(), ", ")));
}

absl::StatusOr<Model> MakeModel(const std::string& arch, const std::string& name,
                                const ModelConfig& config) {
  ASSIGN_OR_RETURN(const ModelFamily* f, FindModelFamily(arch));
  ModelConfig full;
  for (const ConfigKey& k : f->keys)
    full[k.name] = k.absent_value.empty() ? k.default_value : k.absent_value;
  for (const auto& [key, value] : config) {
    const ConfigKey* k = f->FindKey(key);
    if (!k)
      return absl::InvalidArgumentError(
          absl::StrCat("arch '", arch, "' has no config key '", key,
                       "'; its keys are: ", absl::StrJoin(KeyNames(*f), ", ")));
    RETURN_IF_ERROR(CheckValue(arch, *k, value));
    full[key] = value;
  }
  ASSIGN_OR_RETURN(Model m, f->make(name, full));
  RETURN_IF_ERROR(m.Validate());
  return m;
}

absl::StatusOr<Model> PresetModel(const std::string& preset, const ModelConfig& overrides) {
  ASSIGN_OR_RETURN(const ModelFamily* f, PresetFamily(preset));
  ModelConfig c;
  for (const ModelPreset& p : f->presets)
    if (p.name == preset) c = p.overrides;
  for (const auto& [k, v] : overrides) c[k] = v;
  return MakeModel(f->name, preset, c);
}

absl::StatusOr<Model> Reconfigure(const Model& model, const ModelConfig& changes) {
  ModelConfig c = model.config;
  for (const auto& [k, v] : changes) c[k] = v;
  return MakeModel(model.arch, model.name, c);
}

absl::Status CheckSameModel(const std::string& path, const std::string& saved_arch,
                            const ModelConfig& saved, const Model& asked) {
  if (saved_arch != asked.arch)
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", path, " has arch ", saved_arch,
                                                      ", the run asks for ", asked.arch));
  auto family = FindModelFamily(asked.arch);
  for (const auto& [key, value] : asked.config) {
    const ConfigKey* k = family.ok() ? (*family)->FindKey(key) : nullptr;
    if (k && !k->architecture) continue;
    auto it = saved.find(key);
    const std::string had = it == saved.end() ? "(none)" : it->second;
    if (had != value)
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint ", path, " has ", key, "=", had, ", the run asks for ", value));
  }
  return absl::OkStatus();
}

}  // namespace gptc
