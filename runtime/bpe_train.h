// Training a byte-level BPE tokenizer (`gptc tokenizer train`): text split by GPT-2's
// pre-tokenizer, then, until the vocabulary has `vocab_size` ids, the most frequent adjacent
// pair of tokens within a piece becomes a new token (minbpe's algorithm over GPT-2's split).
// Ties go to the pair with the smaller (left, right) ids, so the same text gives the same
// tokenizer. <|endoftext|> is added as the last id.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/bpe_tokenizer.h"

namespace gptc {

// `vocab_size` counts the 256 bytes and <|endoftext|>; at least 257. Training stops early,
// with fewer ids, when no pair occurs twice.
absl::StatusOr<BpeTokenizer> TrainBpe(const std::vector<std::string_view>& texts, int vocab_size,
                                      const std::string& name);

}  // namespace gptc
