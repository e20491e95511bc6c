// A model as the compiler and runtime see it: a DSL function that builds the forward graph, and
// a small description. Passes, backends, the trainer, checkpoints and every command take a
// Model; none of them knows which family built it (a family only makes Models: see
// frontend/model_registry.h).
//
//   Model m = ...;                                     // from a family, or written by hand
//   auto fwd = m.forward({.batch = m.batch_size});     // %tokens, %targets -> %logits, %loss
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frontend/buffer.h"
#include "frontend/param_init.h"
#include "ir/graph.h"

namespace gptc {

// A model's config as key/values (`n_layer` -> `4`): what checkpoints record, and what a
// family rebuilds the model from. Keys sort, so the text form is stable.
using ModelConfig = std::map<std::string, std::string>;

// The shape and mode one step graph wants the forward graph in.
struct ForwardOptions {
  int64_t batch = 1;     // rows of %tokens and %targets
  bool training = true;  // false for evaluation and sampling: no dropout
};

// What a model's DSL function returns.
struct ForwardGraph {
  // Inputs %tokens, %targets: i32[batch, block_size] with ids in [0, vocab); outputs %logits
  // f32[batch, block_size, vocab] and %loss f32[] (the mean cross-entropy). Step graphs
  // (passes/step_graphs.h) select from these by name.
  ir::Graph graph;
  std::vector<ParamSpec> params;    // trained tensors, in declaration order, with their init
  std::vector<BufferSpec> buffers;  // the states it reads: persistent, computed, not trained
};

using ForwardBuilder = std::function<absl::StatusOr<ForwardGraph>(const ForwardOptions&)>;

struct Model {
  std::string arch;    // the family that made it ("gpt"); a registered family rebuilds it
  std::string name;    // its preset, or "custom"
  ModelConfig config;  // every key/value the family's builder read
  int64_t vocab = 0;   // token ids are in [0, vocab)
  // What the token ids mean, by name: "char" (the distinct bytes of the training text, in
  // byte order; a checkpoint stores them). Checkpoints record it, and the runtime builds the
  // tokenizer it names or says it has none by that name.
  std::string tokenizer = "char";
  int64_t block_size = 0;  // the longest sequence: the step graphs' T
  int64_t batch_size = 0;  // rows of the compiled train and eval steps (static shapes)
  ForwardBuilder forward;
  // The names a parameter has outside gptc (safetensors export and --init-from), first the one
  // an import reads; a tied tensor may have more than one. Unset: the IR name.
  std::function<std::vector<std::string>(const std::string& param)> external_names;
  // Extra metadata for an exported file (the family's config under its ecosystem's names).
  ModelConfig export_metadata;
  // A config file its ecosystem reads beside the weights (Hugging Face's config.json), as
  // key -> JSON value text (`"128"`, `"\"llama\""`, `"[\"LlamaForCausalLM\"]"`); `gptc
  // export --to=DIR/x.safetensors` writes it to DIR/<export_config_file> when set.
  std::string export_config_file;
  ModelConfig export_config;

  // Checks the description: a name, positive sizes, a builder.
  absl::Status Validate() const;
  // "gpt shakespeare-cpu (n_embd=128 n_head=4 ...)" for logs.
  std::string Summary() const;
  // The parameters (at batch_size; parameters do not depend on the batch).
  absl::StatusOr<std::vector<ParamSpec>> Params() const;
  std::vector<std::string> ExternalNames(const std::string& param) const;
};

// A config value, or an error naming the model and the key.
absl::StatusOr<int64_t> ConfigInt(const ModelConfig& c, const std::string& key);
absl::StatusOr<double> ConfigDouble(const ModelConfig& c, const std::string& key);
absl::StatusOr<bool> ConfigBool(const ModelConfig& c, const std::string& key);
absl::StatusOr<std::string> ConfigString(const ModelConfig& c, const std::string& key);

}  // namespace gptc
