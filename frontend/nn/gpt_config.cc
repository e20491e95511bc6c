#include "frontend/nn/gpt_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gptc {
namespace {

std::vector<GptConfig> Presets() {
  GptConfig tiny;
  tiny.name = "tiny";
  tiny.block_size = 32;
  tiny.n_layer = 2;
  tiny.n_head = 2;
  tiny.n_embd = 32;
  tiny.batch_size = 4;

  GptConfig cpu;
  cpu.name = "shakespeare-cpu";
  cpu.block_size = 64;
  cpu.n_layer = 4;
  cpu.n_head = 4;
  cpu.n_embd = 128;
  cpu.batch_size = 12;

  GptConfig baby;
  baby.name = "baby";
  baby.block_size = 256;
  baby.n_layer = 6;
  baby.n_head = 6;
  baby.n_embd = 384;
  baby.batch_size = 8;
  return {tiny, cpu, baby};
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
