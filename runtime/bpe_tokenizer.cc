#include "runtime/bpe_tokenizer.h"

#include <algorithm>
#include <queue>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"

namespace gptc {
namespace {

uint64_t PairKey(int32_t l, int32_t r) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
}

// Pieces this long or shorter are remembered within one Encode call: text repeats its words.
constexpr size_t kCachedPiece = 32;

}  // namespace

absl::StatusOr<BpeTokenizer> BpeTokenizer::Create(
    std::string name, std::vector<std::string> tokens, std::vector<BpeMerge> merges,
    std::vector<std::pair<std::string, int32_t>> specials) {
  BpeTokenizer t;
  t.name_ = std::move(name);
  std::fill(std::begin(t.byte_token_), std::end(t.byte_token_), -1);
  const auto n = static_cast<int32_t>(tokens.size());
  for (int32_t id = 0; id < n; ++id)
    if (tokens[id].size() == 1 && t.byte_token_[static_cast<uint8_t>(tokens[id][0])] < 0)
      t.byte_token_[static_cast<uint8_t>(tokens[id][0])] = id;
  for (int b = 0; b < 256; ++b)
    if (t.byte_token_[b] < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer ", t.name_, ": no token for the byte ", b));
  auto valid = [n](int32_t id) { return id >= 0 && id < n; };
  for (size_t r = 0; r < merges.size(); ++r) {
    const BpeMerge& m = merges[r];
    if (!valid(m.left) || !valid(m.right) || !valid(m.result))
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer ", t.name_, ": merge ", r, " names an id outside [0,", n, ")"));
    if (tokens[m.result] != tokens[m.left] + tokens[m.right])
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer ", t.name_, ": merge ", r, " (", m.left, " + ", m.right,
                       ") does not make the bytes of its result ", m.result));
    if (!t.ranks_
             .emplace(PairKey(m.left, m.right), std::make_pair(static_cast<uint32_t>(r), m.result))
             .second)
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer ", t.name_, ": merge ", r, " repeats an earlier pair"));
  }
  for (const auto& [text, id] : specials)
    if (!valid(id))
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer ", t.name_, ": special token ", text, " has id ", id));
  ASSIGN_OR_RETURN(Pretokenizer split, Pretokenizer::Gpt2());
  t.split_ = std::make_shared<const Pretokenizer>(std::move(split));
  t.tokens_ = std::move(tokens);
  t.merges_ = std::move(merges);
  t.specials_ = std::move(specials);
  return t;
}

std::optional<int32_t> BpeTokenizer::SpecialId(std::string_view text) const {
  for (const auto& [s, id] : specials_)
    if (s == text) return id;
  return std::nullopt;
}

std::optional<std::pair<uint32_t, int32_t>> BpeTokenizer::Rank(int32_t left, int32_t right) const {
  auto it = ranks_.find(PairKey(left, right));
  if (it == ranks_.end()) return std::nullopt;
  return it->second;
}

void BpeTokenizer::EncodePiece(std::string_view piece, std::vector<int32_t>* out) const {
  const size_t n = piece.size();
  std::vector<int32_t> tok(n), next(n), prev(n);
  for (size_t i = 0; i < n; ++i) {
    tok[i] = byte_token_[static_cast<uint8_t>(piece[i])];
    next[i] = static_cast<int32_t>(i + 1);
    prev[i] = static_cast<int32_t>(i) - 1;
  }
  // Candidate merges of adjacent symbols (left at i, right at next[i]) by (rank, position):
  // the lowest rank first, the leftmost among equals. Entries go stale when a neighbour
  // merges; they are checked against the current symbols when popped.
  struct Cand {
    uint32_t rank;
    int32_t pos, left, right;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int32_t i) {
    if (i < 0 || next[i] >= static_cast<int32_t>(n)) return;
    if (auto r = Rank(tok[i], tok[next[i]])) heap.push({r->first, i, tok[i], tok[next[i]]});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  std::vector<bool> dead(n, false);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const int32_t i = c.pos;
    if (dead[i] || next[i] >= static_cast<int32_t>(n) || tok[i] != c.left ||
        tok[next[i]] != c.right)
      continue;
    const int32_t j = next[i];
    tok[i] = Rank(c.left, c.right)->second;
    dead[j] = true;
    next[i] = next[j];
    if (next[j] < static_cast<int32_t>(n)) prev[next[j]] = i;
    push(prev[i]);
    push(i);
  }
  for (int32_t i = 0; i < static_cast<int32_t>(n); i = next[i]) out->push_back(tok[i]);
}

std::vector<int32_t> BpeTokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3);
  absl::flat_hash_map<std::string_view, std::pair<uint32_t, uint32_t>> seen;  // piece -> ids
  for (std::string_view piece : split_->Split(text)) {
    if (piece.size() > kCachedPiece) {
      EncodePiece(piece, &out);
      continue;
    }
    if (auto it = seen.find(piece); it != seen.end()) {
      const auto [start, count] = it->second;
      // No reallocation while copying from itself; growth stays geometric (reserve(n) alone
      // allocates exactly n, which made every repeat a copy of everything so far).
      if (out.capacity() < out.size() + count)
        out.reserve(std::max(2 * out.capacity(), out.size() + count));
      for (uint32_t k = 0; k < count; ++k) out.push_back(out[start + k]);
      continue;
    }
    const auto at = static_cast<uint32_t>(out.size());
    EncodePiece(piece, &out);
    seen.emplace(piece, std::make_pair(at, static_cast<uint32_t>(out.size()) - at));
  }
  return out;
}

absl::StatusOr<std::string> BpeTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size())
      return absl::InvalidArgumentError(absl::StrCat("tokenizer ", name_, ": id ", ids[i],
                                                     " at position ", i, " is outside [0,",
                                                     vocab_size(), ")"));
    out += tokens_[ids[i]];
  }
  return out;
}

}  // namespace gptc
