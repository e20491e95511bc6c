// Byte-level BPE (GPT-2's scheme): tokens are byte strings, every single byte is one, and
// merges, in rank order, join two tokens into a third. Text is split by GPT-2's pre-tokenizer
// (pretokenizer.h) and each piece merged on its own, lowest rank first (leftmost among equal
// ranks), as GPT-2's encoder.py and tiktoken do. Any byte string encodes, and decodes back.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/pretokenizer.h"

namespace gptc {

struct BpeMerge {
  int32_t left, right, result;
};

class BpeTokenizer {
 public:
  // `tokens`: id -> bytes, each of the 256 bytes among them; `merges` in rank order, each
  // result's bytes the concatenation of its two parts; `specials`: control tokens (text -> id,
  // e.g. "<|endoftext|>"), which plain text never encodes to. Errors name the entry at fault.
  static absl::StatusOr<BpeTokenizer> Create(std::string name, std::vector<std::string> tokens,
                                             std::vector<BpeMerge> merges,
                                             std::vector<std::pair<std::string, int32_t>> specials);

  const std::string& name() const { return name_; }
  int vocab_size() const { return static_cast<int>(tokens_.size()); }
  const std::vector<BpeMerge>& merges() const { return merges_; }
  const std::vector<std::pair<std::string, int32_t>>& specials() const { return specials_; }
  std::optional<int32_t> SpecialId(std::string_view text) const;
  const std::string& TokenBytes(int32_t id) const { return tokens_[id]; }

  // Ordinary text: special tokens' text is encoded as text (tiktoken's encode_ordinary).
  // Thread-safe.
  std::vector<int32_t> Encode(std::string_view text) const;
  // Fails on an id outside [0, vocab_size), naming it and its position.
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const;

 private:
  BpeTokenizer() = default;
  void EncodePiece(std::string_view piece, std::vector<int32_t>* out) const;
  std::optional<std::pair<uint32_t, int32_t>> Rank(int32_t left, int32_t right) const;

  std::string name_;
  std::vector<std::string> tokens_;
  std::vector<BpeMerge> merges_;
  std::vector<std::pair<std::string, int32_t>> specials_;
  int32_t byte_token_[256];
  // (left << 32 | right) -> (rank, result)
  absl::flat_hash_map<uint64_t, std::pair<uint32_t, int32_t>> ranks_;
  std::shared_ptr<const Pretokenizer> split_;
};

}  // namespace gptc
