#include "tools/model_flags.h"

#include <iostream>
#include <regex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "frontend/model_registry.h"
#include "ir/status_macros.h"
#include "runtime/data_path.h"

namespace gptc::tools {

namespace {

// The flag of a config key: n_layer -> n-layer.
std::string FlagName(const std::string& key) { return absl::StrReplaceAll(key, {{"_", "-"}}); }

// Config keys that are not flags: the vocabulary comes from the tokenizer.
bool IsFlag(const ConfigKey& k) { return k.name != "vocab"; }

}  // namespace

void AddModelFlags(FlagSet& flags, const std::string& default_config) {
  flags.String("config", default_config, "model preset: " + absl::StrJoin(PresetNames(), ", "));
  std::vector<std::string> arches;
  for (const ModelFamily* f : ModelFamilies()) arches.push_back(f->name);
  flags.String("arch", "",
               "model family (" + absl::StrJoin(arches, ", ") +
                   "); alone, its first preset; with --config, must be the preset's");
  std::set<std::string> added;
  for (const ModelFamily* f : ModelFamilies())
    for (const ConfigKey& k : f->keys) {
      if (!IsFlag(k) || !added.insert(k.name).second) continue;
      const std::string help = "override the preset's " + k.help;
      switch (k.kind) {
        case ConfigKey::Kind::kInt:
          flags.Int(FlagName(k.name), 0, help);
          break;
        case ConfigKey::Kind::kDouble:
          flags.Double(FlagName(k.name), 0.0, help);
          break;
        case ConfigKey::Kind::kBool:
          flags.Bool(FlagName(k.name), k.default_value == "true", help);
          break;
        case ConfigKey::Kind::kChoice:
          flags.String(FlagName(k.name), "", help + ": " + absl::StrJoin(k.choices, " or "));
          break;
      }
    }
}

absl::StatusOr<Model> ModelFromFlags(const FlagSet& flags) {
  std::string preset = flags.GetString("config");
  ASSIGN_OR_RETURN(const ModelFamily* family, PresetFamily(preset));
  if (const std::string arch = flags.GetString("arch"); !arch.empty()) {
    ASSIGN_OR_RETURN(const ModelFamily* asked, FindModelFamily(arch));
    if (!flags.IsSet("config")) {
      if (asked->presets.empty())
        return absl::InvalidArgumentError(absl::StrCat("arch '", arch, "' has no presets"));
      preset = asked->presets.front().name;
    } else if (asked != family) {
      return absl::InvalidArgumentError(absl::StrCat("--config=", preset, " is a preset of arch '",
                                                     family->name, "', not of --arch=", arch));
    }
    family = asked;
  }
  ModelConfig overrides;
  for (const ModelFamily* f : ModelFamilies())
    for (const ConfigKey& k : f->keys) {
      const std::string flag = FlagName(k.name);
      if (!IsFlag(k) || !flags.IsSet(flag)) continue;
      const ConfigKey* mine = family->FindKey(k.name);
      if (!mine)
        return absl::InvalidArgumentError(absl::StrCat("--", flag, " is not a config key of arch '",
                                                       family->name, "' (preset ", preset, ")"));
      switch (mine->kind) {
        case ConfigKey::Kind::kInt:
          overrides[k.name] = absl::StrCat(flags.GetInt(flag));
          break;
        case ConfigKey::Kind::kDouble:
          overrides[k.name] = absl::StrCat(flags.GetDouble(flag));
          break;
        case ConfigKey::Kind::kBool:
          overrides[k.name] = flags.GetBool(flag) ? "true" : "false";
          break;
        case ConfigKey::Kind::kChoice:
          overrides[k.name] = flags.GetString(flag);
          break;
      }
    }
  return PresetModel(preset, overrides);
}

absl::StatusOr<TextDataset> LoadData(const FlagSet& flags, Model* model) {
  ASSIGN_OR_RETURN(std::string path, ResolveDataPath(flags.GetString("data")));
  ASSIGN_OR_RETURN(TextDataset data, TextDataset::Load(path, model->tokenizer));
  // The model's vocabulary is the tokenizer's, padded to a multiple of 64 when it is large
  // (GPT-2's 50257 to 50304, as nanoGPT pads it: the logits GEMM then runs on whole vectors;
  // the padding ids never occur in the data, and sampling never draws them).
  int64_t vocab = data.tokenizer().vocab_size();
  if (vocab > 1024) vocab = (vocab + 63) / 64 * 64;
  ASSIGN_OR_RETURN(*model, Reconfigure(*model, {{"vocab", absl::StrCat(vocab)}}));
  model->tokenizer = data.tokenizer().name();  // a token directory names its own
  // Both splits must hold one window (block_size inputs and the next token), before compiling.
  for (Split split : {Split::kTrain, Split::kVal}) {
    const int64_t n = data.size(split);
    if (n < model->block_size + 1)
      return absl::InvalidArgumentError(absl::StrCat(
          "data file '", path, "': its ", split == Split::kTrain ? "train" : "val", " split (",
          split == Split::kTrain ? "the first 90%" : "the last 10%", ") has ", n,
          " characters, fewer than one window of block_size + 1 = ", model->block_size + 1));
  }
  return data;
}

namespace {
const std::regex kDiagnostic("^[^\\n]*:[0-9]+:[0-9]+: error: ");
}  // namespace

int Fail(const absl::Status& s, int code) {
  // Flag errors already start with "gptc <command>:"; diagnostics (ir/diagnostic.h) with
  // "FILE:LINE:COL: error:", which editors parse at the start of a line.
  const bool prefixed = absl::StartsWith(s.message(), "gptc ") ||
                        std::regex_search(std::string(s.message()), kDiagnostic);
  std::cerr << (prefixed ? "" : "gptc: ") << s.message() << std::endl;
  return code;
}

}  // namespace gptc::tools
