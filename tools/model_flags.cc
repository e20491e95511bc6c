#include "tools/model_flags.h"

#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/status_macros.h"
#include "runtime/data_path.h"

namespace gptc::tools {

void AddModelFlags(FlagSet& flags, const std::string& default_config) {
  flags.String("config", default_config, "model preset: " + absl::StrJoin(PresetNames(), ", "));
  flags.Int("n-layer", 0, "override the preset's number of blocks");
  flags.Int("n-head", 0, "override the preset's number of attention heads");
  flags.Int("n-embd", 0, "override the preset's embedding width");
  flags.Int("block-size", 0, "override the preset's context length");
  flags.Int("batch-size", 0, "override the preset's batch size");
  flags.Double(
      "dropout", 0.0,
      "nanoGPT's dropout probability, training only (embeddings, attention, residual branches)");
  flags.Bool("bias", true,
             "biases in Linear layers and LayerNorms (nanoGPT's bias; --no-bias as its "
             "shakespeare-char recipe)");
}

absl::StatusOr<GptConfig> ConfigFromFlags(const FlagSet& flags) {
  ASSIGN_OR_RETURN(GptConfig cfg, PresetConfig(flags.GetString("config")));
  if (flags.IsSet("n-layer")) cfg.n_layer = flags.GetInt("n-layer");
  if (flags.IsSet("n-head")) cfg.n_head = flags.GetInt("n-head");
  if (flags.IsSet("n-embd")) cfg.n_embd = flags.GetInt("n-embd");
  if (flags.IsSet("block-size")) cfg.block_size = flags.GetInt("block-size");
  if (flags.IsSet("batch-size")) cfg.batch_size = flags.GetInt("batch-size");
  if (flags.IsSet("bias")) cfg.bias = flags.GetBool("bias");
  if (flags.IsSet("dropout")) cfg.dropout = flags.GetDouble("dropout");
  RETURN_IF_ERROR(cfg.Validate());
  return cfg;
}

absl::StatusOr<TextDataset> LoadData(const FlagSet& flags, GptConfig* cfg) {
  ASSIGN_OR_RETURN(std::string path, ResolveDataPath(flags.GetString("data")));
  ASSIGN_OR_RETURN(TextDataset data, TextDataset::Load(path));
  cfg->vocab = data.tokenizer().vocab_size();
  // Both splits must hold one window (block_size inputs and the next token), before compiling.
  for (Split split : {Split::kTrain, Split::kVal}) {
    const int64_t n = static_cast<int64_t>(data.tokens(split).size());
    if (n < cfg->block_size + 1)
      return absl::InvalidArgumentError(absl::StrCat(
          "data file '", path, "': its ", split == Split::kTrain ? "train" : "val", " split (",
          split == Split::kTrain ? "the first 90%" : "the last 10%", ") has ", n,
          " characters, fewer than one window of block_size + 1 = ", cfg->block_size + 1));
  }
  return data;
}

int Fail(const absl::Status& s, int code) {
  // Flag errors already start with "gptc <command>:".
  const bool prefixed = absl::StartsWith(s.message(), "gptc ");
  std::cerr << (prefixed ? "" : "gptc: ") << s.message() << std::endl;
  return code;
}

}  // namespace gptc::tools
