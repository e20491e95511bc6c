// The tokens a model trains on, split into train and validation, and random batches of (B, T)
// windows with next-token targets, drawn from a seeded generator. Two sources:
//  - a text file, tokenised in memory and split 90/10 (nanoGPT's shakespeare_char);
//  - a directory of token files (token_files.h: `gptc prepare`, or nanoGPT's prepare.py),
//    read memory-mapped, so its size costs no memory. Its tokenizer comes from its meta.json.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/literal.h"
#include "ir/rng.h"
#include "runtime/text_tokenizer.h"
#include "runtime/token_files.h"
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
  // A token directory (train.bin, val.bin), or a text file tokenised with the tokenizer named
  // `tokenizer` ("char", "gpt2" or a trained BPE's file; `gpt2_dir` as gpt2_vocab.h). A
  // missing, unreadable or empty file is an error naming the path, an unknown tokenizer one
  // naming it.
  static absl::StatusOr<TextDataset> Load(const std::string& path,
                                          const std::string& tokenizer = kCharTokenizer,
                                          const std::string& gpt2_dir = "");
  // `text` with the char tokenizer.
  static absl::StatusOr<TextDataset> FromText(std::string text, std::string origin = "<text>");

  const TextTokenizer& tokenizer() const { return *tokenizer_; }
  int64_t size(Split s) const;
  // Tokens [start, start + n) of a split.
  std::vector<int32_t> Tokens(Split s, int64_t start, int64_t n) const;
  const std::string& origin() const { return origin_; }

  // B windows of T + 1 tokens at uniformly random offsets of the split. Fails if the split is
  // shorter than T + 1 tokens, or holds an id outside the tokenizer's vocabulary (naming the
  // file and position).
  absl::StatusOr<Batch> Sample(Split split, int64_t batch, int64_t seq_len, Rng& rng) const;

 private:
  TextDataset() = default;
  // A text's ids: the first 90% train, the rest validation (nanoGPT's split).
  void SplitTokens(const std::vector<int32_t>& ids);
  std::shared_ptr<const TextTokenizer> tokenizer_;
  std::vector<int32_t> train_, val_;         // a text's tokens, or
  std::shared_ptr<const TokenFiles> files_;  // mapped token files
  std::string origin_;
};

}  // namespace gptc
