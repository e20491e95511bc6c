#include "runtime/bpe_file.h"

#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"
#include "ir/write_file.h"

namespace gptc {

std::string BpeFileTokenizerName(const std::string& path) { return "bpe:" + path; }

absl::StatusOr<std::string> BpeFileText(const BpeTokenizer& t) {
  std::ostringstream out;
  out << "gptc-bpe 1\nmerges " << t.merges().size() << "\n";
  for (size_t i = 0; i < t.merges().size(); ++i) {
    const BpeMerge& m = t.merges()[i];
    if (m.result != static_cast<int32_t>(256 + i))
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer ", t.name(), " is not in gptc's id order (merge ", i,
                       " makes id ", m.result, "); only tokenizers gptc trained can be saved"));
    out << m.left << " " << m.right << "\n";
  }
  out << "specials " << t.specials().size() << "\n";
  for (const auto& [text, id] : t.specials()) out << id << " " << text << "\n";
  return out.str();
}

absl::Status SaveBpeFile(const BpeTokenizer& t, const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, BpeFileText(t));
  return ir::WriteFileAtomically(path, text);
}

absl::StatusOr<BpeTokenizer> LoadBpeFile(const std::string& path) {
  std::optional<std::string> text = ir::ReadFile(path);
  if (!text) return absl::NotFoundError(absl::StrCat("tokenizer file ", path, " cannot be read"));
  return ParseBpeFile(*text, path);
}

absl::StatusOr<BpeTokenizer> ParseBpeFile(const std::string& text, const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  size_t at = 0;
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer file ", path, ", record ", at + 1, ": ", what));
  };
  auto count = [&](const char* key, int64_t* n) -> bool {
    if (at >= lines.size()) return false;
    std::vector<std::string> parts = absl::StrSplit(lines[at], ' ');
    return parts.size() == 2 && parts[0] == key && absl::SimpleAtoi(parts[1], n) && *n >= 0;
  };
  if (lines.empty() || lines[0] != "gptc-bpe 1") return error("expected the header 'gptc-bpe 1'");
  ++at;
  int64_t n_merges = 0, n_specials = 0;
  if (!count("merges", &n_merges)) return error("expected 'merges N'");
  ++at;
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, static_cast<char>(b)));
  std::vector<BpeMerge> merges;
  for (int64_t i = 0; i < n_merges; ++i, ++at) {
    if (at >= lines.size()) return error(absl::StrCat("the file ends after ", i, " merges"));
    std::vector<std::string> parts = absl::StrSplit(lines[at], ' ');
    int32_t l, r;
    const auto defined = static_cast<int32_t>(tokens.size());
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &l) || !absl::SimpleAtoi(parts[1], &r))
      return error("expected a merge 'LEFT RIGHT'");
    if (l < 0 || r < 0 || l >= defined || r >= defined)
      return error(absl::StrCat("merge of ids ", l, " and ", r, ": only ids below ", defined,
                                " exist here"));
    merges.push_back({l, r, defined});
    tokens.push_back(tokens[l] + tokens[r]);
  }
  if (!count("specials", &n_specials)) return error("expected 'specials M'");
  ++at;
  std::vector<std::pair<std::string, int32_t>> specials;
  for (int64_t i = 0; i < n_specials; ++i, ++at) {
    if (at >= lines.size()) return error(absl::StrCat("the file ends after ", i, " specials"));
    std::vector<std::string> parts = absl::StrSplit(lines[at], ' ');
    int32_t id;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &id) || parts[1].empty())
      return error("expected a special token 'ID TEXT'");
    if (id != static_cast<int32_t>(tokens.size()))
      return error(
          absl::StrCat("special token ", parts[1], " has id ", id, ", expected ", tokens.size()));
    tokens.push_back(parts[1]);
    specials.push_back({parts[1], id});
  }
  if (at != lines.size()) return error("unexpected record after the special tokens");
  return BpeTokenizer::Create(BpeFileTokenizerName(path), std::move(tokens), std::move(merges),
                              std::move(specials));
}

}  // namespace gptc
