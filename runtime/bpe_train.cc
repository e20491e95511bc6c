#include "runtime/bpe_train.h"

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "runtime/pretokenizer.h"

namespace gptc {
namespace {

uint64_t Key(int32_t l, int32_t r) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
}

struct Word {
  std::vector<int32_t> syms;
  int64_t count;
};

// Pair counts over all words, and which words hold each pair, kept up to date as merges
// rewrite words (only the words holding the merged pair are touched).
class PairIndex {
 public:
  void Add(const std::vector<Word>& words, int32_t w, int sign) {
    const Word& word = words[w];
    for (size_t i = 0; i + 1 < word.syms.size(); ++i) {
      const uint64_t k = Key(word.syms[i], word.syms[i + 1]);
      int64_t& c = counts_[k];
      c += sign * word.count;
      if (c == 0) counts_.erase(k);
      if (sign > 0) where_[k].insert(w);
    }
  }
  // The most frequent pair (smallest key among equals), if any occurs at least twice.
  bool Best(uint64_t* key) const {
    int64_t best = 1;
    bool found = false;
    for (const auto& [k, c] : counts_) {
      if (c > best || (c == best && found && k < *key)) {
        best = c, *key = k, found = true;
      }
    }
    return found;
  }
  std::vector<int32_t> WordsWith(uint64_t k) {
    auto it = where_.find(k);
    if (it == where_.end()) return {};
    std::vector<int32_t> w(it->second.begin(), it->second.end());
    where_.erase(it);
    return w;
  }

 private:
  absl::flat_hash_map<uint64_t, int64_t> counts_;
  absl::flat_hash_map<uint64_t, absl::flat_hash_set<int32_t>> where_;
};

}  // namespace

absl::StatusOr<BpeTokenizer> TrainBpe(const std::vector<std::string_view>& texts, int vocab_size,
                                      const std::string& name) {
  if (vocab_size < 257)
    return absl::InvalidArgumentError(absl::StrCat(
        "--vocab-size=", vocab_size, ": at least 257 (the 256 bytes and <|endoftext|>)"));
  ASSIGN_OR_RETURN(const Pretokenizer split, Pretokenizer::Gpt2());
  absl::flat_hash_map<std::string_view, int64_t> pieces;
  for (std::string_view text : texts)
    for (std::string_view p : split.Split(text)) ++pieces[p];
  std::vector<Word> words;
  words.reserve(pieces.size());
  for (const auto& [p, c] : pieces) {
    Word w{{}, c};
    for (unsigned char b : p) w.syms.push_back(b);
    words.push_back(std::move(w));
  }
  PairIndex index;
  for (int32_t w = 0; w < static_cast<int32_t>(words.size()); ++w) index.Add(words, w, +1);
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, static_cast<char>(b)));
  std::vector<BpeMerge> merges;
  uint64_t key = 0;
  while (static_cast<int>(tokens.size()) + 1 < vocab_size && index.Best(&key)) {
    const auto l = static_cast<int32_t>(key >> 32), r = static_cast<int32_t>(key & 0xffffffffu);
    const auto id = static_cast<int32_t>(tokens.size());
    merges.push_back({l, r, id});
    tokens.push_back(tokens[l] + tokens[r]);
    for (int32_t w : index.WordsWith(key)) {
      index.Add(words, w, -1);
      std::vector<int32_t>& s = words[w].syms;
      std::vector<int32_t> merged;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == l && s[i + 1] == r) {
          merged.push_back(id);
          ++i;
        } else {
          merged.push_back(s[i]);
        }
      }
      s = std::move(merged);
      index.Add(words, w, +1);
    }
  }
  const auto eot = static_cast<int32_t>(tokens.size());
  tokens.push_back("<|endoftext|>");
  return BpeTokenizer::Create(name, std::move(tokens), std::move(merges), {{"<|endoftext|>", eot}});
}

}  // namespace gptc
