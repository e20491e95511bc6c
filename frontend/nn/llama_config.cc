#include "frontend/nn/llama_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gptc {
namespace {

LlamaConfig Preset(const char* name, int64_t block_size, int64_t n_layer, int64_t n_head,
                   int64_t n_kv_head, int64_t n_embd, int64_t ffn_hidden, int64_t batch_size) {
  LlamaConfig c;
  c.name = name;
  c.block_size = block_size;
  c.n_layer = n_layer;
  c.n_head = n_head;
  c.n_kv_head = n_kv_head;
  c.n_embd = n_embd;
  c.ffn_hidden = ffn_hidden;
  c.batch_size = batch_size;
  return c;
}

std::vector<LlamaConfig> Presets() {
  return {Preset("tiny-llama", 32, 2, 4, 2, 32, 64, 4),
          Preset("llama-cpu", 64, 4, 4, 2, 128, 384, 12),
          Preset("llama-baby", 256, 6, 6, 2, 384, 1024, 8)};
}

}  // namespace

absl::Status LlamaConfig::Validate() const {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("config '", name, "': ", why));
  };
  for (auto [field, v] : {std::pair<const char*, int64_t>{"vocab", vocab},
                          {"block_size", block_size},
                          {"n_layer", n_layer},
                          {"n_head", n_head},
                          {"n_kv_head", n_kv_head},
                          {"n_embd", n_embd},
                          {"ffn_hidden", ffn_hidden},
                          {"batch_size", batch_size}})
    if (v <= 0) return bad(absl::StrCat(field, " must be positive, got ", v));
  if (n_embd % n_head != 0)
    return bad(absl::StrCat("n_embd (", n_embd, ") must be a multiple of n_head (", n_head, ")"));
  if (n_head % n_kv_head != 0)
    return bad(absl::StrCat("n_kv_head (", n_kv_head, ") must divide n_head (", n_head, ")"));
  if (head_dim() % 2 != 0)
    return bad(absl::StrCat("the head width n_embd / n_head (", head_dim(),
                            ") must be even: rotary embeddings turn pairs of its values"));
  if (!(rms_eps > 0)) return bad("rms_eps must be positive");
  if (!(rope_theta > 1)) return bad("rope_theta must be greater than 1");
  return absl::OkStatus();
}

absl::StatusOr<LlamaConfig> LlamaPreset(const std::string& name) {
  for (const LlamaConfig& c : Presets())
    if (c.name == name) return c;
  return absl::NotFoundError(absl::StrCat(
      "unknown llama preset '", name, "' (known: ", absl::StrJoin(LlamaPresetNames(), ", "), ")"));
}

std::vector<std::string> LlamaPresetNames() {
  std::vector<std::string> names;
  for (const LlamaConfig& c : Presets()) names.push_back(c.name);
  return names;
}

}  // namespace gptc
