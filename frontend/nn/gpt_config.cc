#include "frontend/nn/gpt_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gptc {
namespace {

GptConfig Preset(const char* name, int64_t block_size, int64_t n_layer, int64_t n_head,
                 int64_t n_embd, int64_t batch_size) {
  GptConfig c;
  c.name = name;
  c.block_size = block_size;
  c.n_layer = n_layer;
  c.n_head = n_head;
  c.n_embd = n_embd;
  c.batch_size = batch_size;
  return c;
}

// GPT-2's sizes as nanoGPT trains them: context 1024, biases, a tied head, and the vocabulary
// 50257 padded to 50304 (a multiple of 64) so the logits GEMM runs on whole vectors; batch 4.
GptConfig Gpt2Preset(const char* name, int64_t n_layer, int64_t n_head, int64_t n_embd) {
  GptConfig c = Preset(name, 1024, n_layer, n_head, n_embd, 4);
  c.vocab = 50304;
  return c;
}

std::vector<GptConfig> Presets() {
  return {Preset("tiny", 32, 2, 2, 32, 4),               // tests
          Preset("shakespeare-cpu", 64, 4, 4, 128, 12),  // nanoGPT's CPU recipe
          Preset("baby", 256, 6, 6, 384, 8),             // nanoGPT's shakespeare-char GPU model
          Gpt2Preset("gpt2", 12, 12, 768),               // GPT-2 124M
          Gpt2Preset("gpt2-medium", 24, 16, 1024)};      // GPT-2 350M
}

}  // namespace

double GptConfig::residual_init_std() const { return kInitStd / std::sqrt(2.0 * n_layer); }

absl::Status GptConfig::Validate() const {
  auto positive = [&](const char* field, int64_t v) -> absl::Status {
    if (v <= 0)
      return absl::InvalidArgumentError(
          absl::StrCat("config '", name, "': ", field, " must be positive, got ", v));
    return absl::OkStatus();
  };
  for (auto [field, v] : {std::pair<const char*, int64_t>{"vocab", vocab},
                          {"block_size", block_size},
                          {"n_layer", n_layer},
                          {"n_head", n_head},
                          {"n_embd", n_embd},
                          {"batch_size", batch_size}}) {
    if (auto s = positive(field, v); !s.ok()) return s;
  }
  if (n_embd % n_head != 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "config '", name, "': n_embd (", n_embd, ") must be a multiple of n_head (", n_head, ")"));
  if (!(dropout >= 0 && dropout < 1))
    return absl::InvalidArgumentError(
        absl::StrCat("config '", name, "': dropout must be in [0, 1), got ", dropout));
  if (gelu != "tanh" && gelu != "erf")
    return absl::InvalidArgumentError(
        absl::StrCat("config '", name, "': gelu must be tanh or erf, not '", gelu, "'"));
  if (!(layernorm_eps > 0))
    return absl::InvalidArgumentError(
        absl::StrCat("config '", name, "': layernorm_eps must be positive"));
  return absl::OkStatus();
}

absl::StatusOr<GptConfig> PresetConfig(const std::string& name) {
  for (const GptConfig& c : Presets())
    if (c.name == name) return c;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown config '", name, "'; presets are: ", absl::StrJoin(GptPresetNames(), ", ")));
}

std::vector<std::string> GptPresetNames() {
  std::vector<std::string> names;
  for (const GptConfig& c : Presets()) names.push_back(c.name);
  return names;
}

}  // namespace gptc
