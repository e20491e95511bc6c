// The registry of model families, as torchtitan's train specs or Hugging Face's model_type: a
// family has a name (`--arch`), the keys of its config with their defaults, named presets, and
// a function that makes a Model (frontend/model.h) from a config. Checkpoints record a model's
// arch and config, and every command rebuilds the model through here.
//
//   RegisterModelFamily(MyFamily());                 // a program's own family, once
//   absl::StatusOr<Model> m = PresetModel("tiny");   // a built-in preset (family "gpt")
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frontend/model.h"

namespace gptc {

struct ConfigKey {
  enum class Kind { kInt, kDouble, kBool, kChoice };
  std::string name;  // `n_layer`; its command-line override is --n-layer
  Kind kind = Kind::kInt;
  std::string default_value;
  std::string help;
  // Whether it changes what is trained (a checkpoint must agree on it), or is a choice of the
  // run that may differ on resume (batch_size, dropout).
  bool architecture = true;
  std::vector<std::string> choices = {};  // kChoice: the values it may take
  // The value a stored config that lacks the key means, when not the default: a key added
  // after checkpoints were written, whose default then changed (GPT's gelu: tanh before
  // --gelu existed, erf now). Empty: the default.
  std::string absent_value = {};
};

struct ModelPreset {
  std::string name;
  ModelConfig overrides;  // on top of the family's defaults
};

struct ModelFamily {
  std::string name;  // --arch
  std::string description;
  // Every family has the keys vocab, block_size and batch_size (Model's shared interface).
  std::vector<ConfigKey> keys;
  std::vector<ModelPreset> presets;  // the first is the family's default
  // Makes the model from a complete config (every key present, each parsed by its kind).
  std::function<absl::StatusOr<Model>(const std::string& name, const ModelConfig& config)> make;

  const ConfigKey* FindKey(const std::string& key) const;
};

// Adds a family; an error if its name or a preset name is taken, or it lacks a shared key.
absl::Status RegisterModelFamily(ModelFamily family);
// The built-in families and those registered, in registration order.
std::vector<const ModelFamily*> ModelFamilies();
absl::StatusOr<const ModelFamily*> FindModelFamily(const std::string& arch);
// Every family's presets.
std::vector<std::string> PresetNames();
// The family a preset belongs to.
absl::StatusOr<const ModelFamily*> PresetFamily(const std::string& preset);

// The family's defaults, then `config` over them: an unknown key or a value not of the key's
// kind is an error naming it. The model is named `name`.
absl::StatusOr<Model> MakeModel(const std::string& arch, const std::string& name,
                                const ModelConfig& config);
// A preset, with `overrides` applied.
absl::StatusOr<Model> PresetModel(const std::string& preset, const ModelConfig& overrides = {});
// The same model with some config values changed (its family rebuilds it).
absl::StatusOr<Model> Reconfigure(const Model& model, const ModelConfig& changes);

// Whether a checkpoint's model (saved) is the one a run asks for: the same arch and the same
// value of every architecture key, else an error naming the first that differs, e.g.
// "checkpoint out/ckpt.bin has n_layer=4, the run asks for 6".
absl::Status CheckSameModel(const std::string& path, const std::string& saved_arch,
                            const ModelConfig& saved, const Model& asked);

}  // namespace gptc
