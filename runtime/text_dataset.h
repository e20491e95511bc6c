// A tokenised text split 90/10 into train and validation (nanoGPT's split), and random
// batches of (B, T) windows with next-token targets, drawn from a seeded generator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/literal.h"
#include "ir/rng.h"
#include "runtime/tokenizer.h"

namespace gptc {

enum class Split { kTrain, kVal };

struct Batch {
  ir::Literal tokens;   // i32[B, T]
  ir::Literal targets;  // i32[B, T]: tokens shifted left by one
};

// Uniformly random tokens and targets in [0, vocab), from `seed` (benchmarks: the step's speed
// does not depend on the text).
Batch RandomBatch(int64_t batch, int64_t seq_len, int64_t vocab, uint64_t seed);

class TextDataset {
 public:
  // Reads `path` and tokenises it with the tokenizer named `tokenizer` (Model::tokenizer); a
  // missing, unreadable or empty file is an error naming the path, an unknown tokenizer one
  // naming it.
  static absl::StatusOr<TextDataset> Load(const std::string& path,
                                          const std::string& tokenizer = kCharTokenizer);
  static absl::StatusOr<TextDataset> FromText(std::string text, std::string origin = "<text>");

  const CharTokenizer& tokenizer() const { return tokenizer_; }
  const std::vector<int32_t>& tokens(Split s) const { return s == Split::kTrain ? train_ : val_; }
  const std::string& origin() const { return origin_; }

  // B windows of T + 1 tokens at uniformly random offsets of the split. Fails if the split is
  // shorter than T + 1 tokens.
  absl::StatusOr<Batch> Sample(Split split, int64_t batch, int64_t seq_len, Rng& rng) const;

 private:
  TextDataset(CharTokenizer t) : tokenizer_(std::move(t)) {}
  CharTokenizer tokenizer_;
  std::vector<int32_t> train_, val_;
  std::string origin_;
};

}  // namespace gptc
