#include "runtime/gpt2_vocab.h"

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"
#include "runtime/byte_unicode.h"
#include "runtime/data_path.h"

namespace gptc {
namespace {

bool HasFiles(const std::filesystem::path& d) {
  std::error_code ec;
  return std::filesystem::is_regular_file(d / "encoder.json", ec) &&
         std::filesystem::is_regular_file(d / "vocab.bpe", ec);
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::optional<std::string> text = ir::ReadFile(path);
  if (!text) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return *std::move(text);
}

}  // namespace

absl::StatusOr<std::string> ResolveGpt2Dir(const std::string& explicit_dir) {
  std::string chosen = explicit_dir;
  const char* env = std::getenv("GPTC_GPT2_DIR");
  if (chosen.empty() && env && *env) chosen = env;
  if (!chosen.empty()) {
    if (HasFiles(chosen)) return chosen;
    return absl::NotFoundError(absl::StrCat("GPT-2 vocabulary directory '", chosen, "' (from ",
                                            explicit_dir.empty() ? "$GPTC_GPT2_DIR" : "the flag",
                                            ") has no encoder.json and vocab.bpe"));
  }
  std::string looked;
  for (const std::string& d : DataSearchDirs())
    for (const char* rel : {"data/gpt2", "shared/data/gpt2"}) {
      const std::filesystem::path p = (std::filesystem::path(d) / rel).lexically_normal();
      if (HasFiles(p)) return p.string();
      absl::StrAppend(&looked, "\n  ", p.string());
    }
  return absl::NotFoundError(
      absl::StrCat("GPT-2's vocabulary (encoder.json, vocab.bpe) not found; looked in:", looked,
                   "\nrun scripts/setup.sh (it copies or downloads them) or set $GPTC_GPT2_DIR"));
}

absl::StatusOr<BpeTokenizer> LoadGpt2Tokenizer(const std::string& dir) {
  const std::string enc_path = (std::filesystem::path(dir) / "encoder.json").string();
  const std::string bpe_path = (std::filesystem::path(dir) / "vocab.bpe").string();
  ASSIGN_OR_RETURN(const std::string enc_text, ReadAll(enc_path));
  nlohmann::json enc = nlohmann::json::parse(enc_text, nullptr, /*allow_exceptions=*/false);
  if (!enc.is_object() || enc.empty())
    return absl::InvalidArgumentError(absl::StrCat(enc_path, ": not a JSON object of tokens"));
  absl::flat_hash_map<std::string, int32_t> ids;
  std::vector<std::string> tokens(enc.size());
  for (const auto& [text, id] : enc.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() >= static_cast<int64_t>(enc.size()))
      return absl::InvalidArgumentError(absl::StrCat(enc_path, ": token ", text, " has id ",
                                                     id.dump(), ", not in [0,", enc.size(), ")"));
    const auto i = static_cast<int32_t>(id.get<int64_t>());
    std::optional<std::string> bytes = VocabTextToBytes(text);
    if (!bytes)
      return absl::InvalidArgumentError(
          absl::StrCat(enc_path, ": token ", i, " is not written in bytes_to_unicode's alphabet"));
    tokens[i] = *std::move(bytes);
    ids[text] = i;
  }
  ASSIGN_OR_RETURN(const std::string merges_text, ReadAll(bpe_path));
  std::vector<BpeMerge> merges;
  std::istringstream in(merges_text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
      return absl::InvalidArgumentError(
          absl::StrCat(bpe_path, ":", line_no, ": expected two tokens separated by one space"));
    const std::string a = line.substr(0, sp), b = line.substr(sp + 1);
    auto ia = ids.find(a), ib = ids.find(b), iab = ids.find(a + b);
    if (ia == ids.end() || ib == ids.end() || iab == ids.end())
      return absl::InvalidArgumentError(absl::StrCat(bpe_path, ":", line_no, ": '", line,
                                                     "' names a token encoder.json does not have"));
    merges.push_back({ia->second, ib->second, iab->second});
  }
  std::vector<std::pair<std::string, int32_t>> specials;
  if (auto it = ids.find("<|endoftext|>"); it != ids.end())
    specials.push_back({"<|endoftext|>", it->second});
  return BpeTokenizer::Create(kGpt2Tokenizer, std::move(tokens), std::move(merges),
                              std::move(specials));
}

}  // namespace gptc
