#include "frontend/nn/llama_family.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "frontend/nn/llama.h"
#include "ir/status_macros.h"

namespace gptc::nn {

ModelConfig ToModelConfig(const LlamaConfig& c) {
  return {{"vocab", absl::StrCat(c.vocab)},
          {"block_size", absl::StrCat(c.block_size)},
          {"n_layer", absl::StrCat(c.n_layer)},
          {"n_head", absl::StrCat(c.n_head)},
          {"n_kv_head", absl::StrCat(c.n_kv_head)},
          {"n_embd", absl::StrCat(c.n_embd)},
          {"ffn_hidden", absl::StrCat(c.ffn_hidden)},
          {"batch_size", absl::StrCat(c.batch_size)},
          {"rms_eps", absl::StrCat(c.rms_eps)},
          {"rope_theta", absl::StrCat(c.rope_theta)},
          {"tie_embeddings", c.tie_embeddings ? "true" : "false"}};
}

absl::StatusOr<LlamaConfig> LlamaConfigFrom(const std::string& name, const ModelConfig& config) {
  LlamaConfig c;
  c.name = name;
  ASSIGN_OR_RETURN(c.vocab, ConfigInt(config, "vocab"));
  ASSIGN_OR_RETURN(c.block_size, ConfigInt(config, "block_size"));
  ASSIGN_OR_RETURN(c.n_layer, ConfigInt(config, "n_layer"));
  ASSIGN_OR_RETURN(c.n_head, ConfigInt(config, "n_head"));
  ASSIGN_OR_RETURN(c.n_kv_head, ConfigInt(config, "n_kv_head"));
  ASSIGN_OR_RETURN(c.n_embd, ConfigInt(config, "n_embd"));
  ASSIGN_OR_RETURN(c.ffn_hidden, ConfigInt(config, "ffn_hidden"));
  ASSIGN_OR_RETURN(c.batch_size, ConfigInt(config, "batch_size"));
  ASSIGN_OR_RETURN(c.rms_eps, ConfigDouble(config, "rms_eps"));
  ASSIGN_OR_RETURN(c.rope_theta, ConfigDouble(config, "rope_theta"));
  ASSIGN_OR_RETURN(c.tie_embeddings, ConfigBool(config, "tie_embeddings"));
  RETURN_IF_ERROR(c.Validate());
  return c;
}

std::string HfLlamaName(const std::string& n) {
  std::string base = absl::EndsWith(n, ".w") ? n.substr(0, n.size() - 2) : n;
  return absl::StrCat(absl::StartsWith(n, "lm_head") ? "" : "model.", base, ".weight");
}

absl::StatusOr<Model> LlamaModel(const LlamaConfig& cfg) {
  RETURN_IF_ERROR(cfg.Validate());
  Model m;
  m.arch = "llama";
  m.name = cfg.name;
  m.config = ToModelConfig(cfg);
  m.vocab = cfg.vocab;
  m.block_size = cfg.block_size;
  m.batch_size = cfg.batch_size;
  m.forward = [cfg](const ForwardOptions& o) { return BuildLlama(cfg, o.batch); };
  const bool tied = cfg.tie_embeddings;
  m.external_names = [tied](const std::string& p) -> std::vector<std::string> {
    if (p == "embed_tokens" && tied) return {HfLlamaName(p), "lm_head.weight"};
    return {HfLlamaName(p)};
  };
  m.export_metadata = {{"format", "pt"},
                       {"model_type", "llama"},
                       {"num_hidden_layers", absl::StrCat(cfg.n_layer)},
                       {"num_attention_heads", absl::StrCat(cfg.n_head)},
                       {"num_key_value_heads", absl::StrCat(cfg.n_kv_head)},
                       {"hidden_size", absl::StrCat(cfg.n_embd)},
                       {"intermediate_size", absl::StrCat(cfg.ffn_hidden)},
                       {"max_position_embeddings", absl::StrCat(cfg.block_size)},
                       {"vocab_size", absl::StrCat(cfg.vocab)},
                       {"rms_norm_eps", absl::StrCat(cfg.rms_eps)},
                       {"rope_theta", absl::StrCat(cfg.rope_theta)},
                       {"tie_word_embeddings", tied ? "true" : "false"}};
  // Hugging Face's config.json, so the export's folder loads with
  // LlamaForCausalLM.from_pretrained(DIR).
  m.export_config_file = "config.json";
  m.export_config = {{"architectures", "[\"LlamaForCausalLM\"]"},
                     {"model_type", "\"llama\""},
                     {"hidden_size", absl::StrCat(cfg.n_embd)},
                     {"intermediate_size", absl::StrCat(cfg.ffn_hidden)},
                     {"num_hidden_layers", absl::StrCat(cfg.n_layer)},
                     {"num_attention_heads", absl::StrCat(cfg.n_head)},
                     {"num_key_value_heads", absl::StrCat(cfg.n_kv_head)},
                     {"head_dim", absl::StrCat(cfg.head_dim())},
                     {"hidden_act", "\"silu\""},
                     {"max_position_embeddings", absl::StrCat(cfg.block_size)},
                     {"rms_norm_eps", absl::StrCat(cfg.rms_eps)},
                     {"rope_theta", absl::StrCat(cfg.rope_theta)},
                     {"vocab_size", absl::StrCat(cfg.vocab)},
                     {"tie_word_embeddings", tied ? "true" : "false"},
                     {"attention_bias", "false"},
                     {"mlp_bias", "false"},
                     {"initializer_range", absl::StrCat(LlamaConfig::kInitStd)},
                     {"torch_dtype", "\"float32\""}};
  return m;
}

ModelFamily LlamaFamily() {
  using K = ConfigKey::Kind;
  const ModelConfig d = ToModelConfig(LlamaConfig{});
  ModelFamily f;
  f.name = "llama";
  f.description =
      "LLaMA: RMSNorm, rotary positions, grouped-query causal attention and a SwiGLU MLP, "
      "no biases, an untied head (Hugging Face's LlamaForCausalLM)";
  f.keys = {
      {"vocab", K::kInt, d.at("vocab"), "vocabulary size (set from the tokenizer on text)"},
      {"block_size", K::kInt, d.at("block_size"), "context length"},
      {"n_layer", K::kInt, d.at("n_layer"), "number of blocks"},
      {"n_head", K::kInt, d.at("n_head"), "query heads"},
      {"n_kv_head", K::kInt, d.at("n_kv_head"), "key/value heads; divides n_head"},
      {"n_embd", K::kInt, d.at("n_embd"), "embedding width"},
      {"ffn_hidden", K::kInt, d.at("ffn_hidden"), "the SwiGLU MLP's inner width"},
      {"batch_size", K::kInt, d.at("batch_size"), "batch size of the compiled steps", false},
      {"rms_eps", K::kDouble, d.at("rms_eps"), "RMSNorm's epsilon"},
      {"rope_theta", K::kDouble, d.at("rope_theta"), "the rotary embeddings' base"},
      {"tie_embeddings", K::kBool, d.at("tie_embeddings"),
       "the output head is the token embedding"},
  };
  for (const std::string& name : LlamaPresetNames())
    f.presets.push_back({name, ToModelConfig(*LlamaPreset(name))});
  f.make = [](const std::string& name, const ModelConfig& config) -> absl::StatusOr<Model> {
    ASSIGN_OR_RETURN(LlamaConfig c, LlamaConfigFrom(name, config));
    return LlamaModel(c);
  };
  return f;
}

}  // namespace gptc::nn
