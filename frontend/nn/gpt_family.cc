#include "frontend/nn/gpt_family.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "frontend/nn/gpt.h"
#include "ir/status_macros.h"

namespace gptc::nn {

ModelConfig ToModelConfig(const GptConfig& c) {
  return {{"vocab", absl::StrCat(c.vocab)},
          {"block_size", absl::StrCat(c.block_size)},
          {"n_layer", absl::StrCat(c.n_layer)},
          {"n_head", absl::StrCat(c.n_head)},
          {"n_embd", absl::StrCat(c.n_embd)},
          {"batch_size", absl::StrCat(c.batch_size)},
          {"layernorm_eps", absl::StrCat(c.layernorm_eps)},
          {"bias", c.bias ? "true" : "false"},
          {"dropout", absl::StrCat(c.dropout)},
          {"gelu", c.gelu}};
}

absl::StatusOr<GptConfig> GptConfigFrom(const std::string& name, const ModelConfig& config) {
  GptConfig c;
  c.name = name;
  ASSIGN_OR_RETURN(c.vocab, ConfigInt(config, "vocab"));
  ASSIGN_OR_RETURN(c.block_size, ConfigInt(config, "block_size"));
  ASSIGN_OR_RETURN(c.n_layer, ConfigInt(config, "n_layer"));
  ASSIGN_OR_RETURN(c.n_head, ConfigInt(config, "n_head"));
  ASSIGN_OR_RETURN(c.n_embd, ConfigInt(config, "n_embd"));
  ASSIGN_OR_RETURN(c.batch_size, ConfigInt(config, "batch_size"));
  ASSIGN_OR_RETURN(c.layernorm_eps, ConfigDouble(config, "layernorm_eps"));
  ASSIGN_OR_RETURN(c.bias, ConfigBool(config, "bias"));
  ASSIGN_OR_RETURN(c.dropout, ConfigDouble(config, "dropout"));
  ASSIGN_OR_RETURN(c.gelu, ConfigString(config, "gelu"));
  RETURN_IF_ERROR(c.Validate());
  return c;
}

std::string NanoGptName(const std::string& n) {
  std::string out = "transformer." + n;
  if (absl::EndsWith(out, ".w")) return out.substr(0, out.size() - 2) + ".weight";
  if (absl::EndsWith(out, ".b")) return out.substr(0, out.size() - 2) + ".bias";
  return out + ".weight";  // wte, wpe
}

absl::StatusOr<Model> GptModel(const GptConfig& cfg) {
  RETURN_IF_ERROR(cfg.Validate());
  Model m;
  m.arch = "gpt";
  m.name = cfg.name;
  m.config = ToModelConfig(cfg);
  m.vocab = cfg.vocab;
  m.block_size = cfg.block_size;
  m.batch_size = cfg.batch_size;
  m.forward = [cfg](const ForwardOptions& o) -> absl::StatusOr<ForwardGraph> {
    GptConfig c = cfg;
    c.batch_size = o.batch;
    if (!o.training) c.dropout = 0;  // dropout is for training only
    ASSIGN_OR_RETURN(GptGraph g, BuildGpt(c));
    return ForwardGraph{std::move(g.graph), std::move(g.params), {}};
  };
  m.external_names = [](const std::string& p) -> std::vector<std::string> {
    if (p == "wte") return {NanoGptName(p), "lm_head.weight"};  // the head is tied to wte
    return {NanoGptName(p)};
  };
  m.export_metadata = {{"format", "pt"},
                       {"n_layer", absl::StrCat(cfg.n_layer)},
                       {"n_head", absl::StrCat(cfg.n_head)},
                       {"n_embd", absl::StrCat(cfg.n_embd)},
                       {"block_size", absl::StrCat(cfg.block_size)},
                       {"vocab_size", absl::StrCat(cfg.vocab)},
                       {"bias", cfg.bias ? "True" : "False"},
                       {"gelu", cfg.gelu}};
  return m;
}

ModelFamily GptFamily() {
  using K = ConfigKey::Kind;
  const ModelConfig d = ToModelConfig(GptConfig{});
  ModelFamily f;
  f.name = "gpt";
  f.description =
      "nanoGPT's GPT: token and learned position embeddings, pre-LayerNorm blocks of causal "
      "multi-head attention and a GELU MLP, a head tied to the token embedding";
  f.keys = {
      {"vocab", K::kInt, d.at("vocab"), "vocabulary size (set from the tokenizer on text)"},
      {"block_size", K::kInt, d.at("block_size"), "context length"},
      {"n_layer", K::kInt, d.at("n_layer"), "number of blocks"},
      {"n_head", K::kInt, d.at("n_head"), "attention heads"},
      {"n_embd", K::kInt, d.at("n_embd"), "embedding width"},
      {"batch_size", K::kInt, d.at("batch_size"), "batch size of the compiled steps", false},
      {"layernorm_eps", K::kDouble, d.at("layernorm_eps"), "LayerNorm's epsilon"},
      {"bias", K::kBool, d.at("bias"),
       "biases in Linear layers and LayerNorms (nanoGPT's bias; --no-bias as its "
       "shakespeare-char recipe)"},
      {"dropout", K::kDouble, d.at("dropout"),
       "nanoGPT's dropout probability, training only (embeddings, attention, residual "
       "branches)",
       false},
      {"gelu",
       K::kChoice,
       d.at("gelu"),
       "MLP's GELU: erf (exact: nanoGPT's nn.GELU()) or tanh (GPT-2's approximation)",
       true,
       {"erf", "tanh"},
       /*absent_value=*/"tanh"},
  };
  for (const std::string& name : GptPresetNames())
    f.presets.push_back({name, ToModelConfig(*PresetConfig(name))});
  f.make = [](const std::string& name, const ModelConfig& config) -> absl::StatusOr<Model> {
    ASSIGN_OR_RETURN(GptConfig c, GptConfigFrom(name, config));
    return GptModel(c);
  };
  return f;
}

}  // namespace gptc::nn
