// Checkpoints: everything a training run needs to continue exactly where it stopped, in one
// file. Written to a temporary file beside the target, fsync'd, then renamed over it, so a
// write that fails partway (disk full, a file-size limit, a kill) leaves the previous
// checkpoint intact. A reader checks magic, version, sizes and a checksum before it trusts a
// byte, and names what is wrong.
//
// Layout: "GPTCCKPT" | u32 version | u64 payload bytes | u64 FNV-1a 64 of the payload |
// payload. The payload is a text section (u64 length, then `key=value` lines: the model's arch
// and name, its config as `config.KEY=HEX`, its tokenizer's name, the vocabulary in hex, the step,
// the data sampler's RNG state, the best val loss, the training flags) followed by the tensors (u32
// count; per tensor: u32 name length, name, u32 rank, i64 dims, then the f32 data).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frontend/model.h"
#include "ir/literal.h"
#include "runtime/tokenizer.h"

namespace gptc {

struct Checkpoint {
  std::string arch;        // the model family (frontend/model_registry.h), which rebuilds it
  std::string model_name;  // its preset, or "custom"
  ModelConfig config;      // every config key/value of the model
  std::string tokenizer = kCharTokenizer;  // its name (Model::tokenizer); "char" if unrecorded
  std::string vocabulary;                  // the tokenizer's bytes, in id order
  int64_t step = 0;                        // optimiser steps done
  std::string rng_state;                   // the training batch sampler's state (Rng::State)
  double best_val_loss = 0;
  std::map<std::string, std::string> flags;  // the training flags, as given
  struct Tensor {
    std::string name;
    ir::Shape shape;
    std::vector<float> data;
    // Writing only: the elements in memory someone else owns (a StateStore's blocks), used
    // when `data` is empty, so a checkpoint of a large model copies nothing.
    const float* external = nullptr;
    const float* values() const { return external && data.empty() ? external : data.data(); }
    int64_t size() const { return ir::NumElements(shape); }
  };
  std::vector<Tensor> tensors;  // parameters and AdamW moments, by IR name
};

// Version 2 records the arch and config keys; version 1 (GPT's fields) still reads, as arch gpt.
constexpr uint32_t kCheckpointVersion = 2;

// Streams the file: the payload is never assembled in memory.
absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& c);
absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path);
// The same from the file's bytes (`path` only names it in errors; the fuzz target's entry).
absl::StatusOr<Checkpoint> ParseCheckpoint(const std::string& path, std::string file);

}  // namespace gptc
