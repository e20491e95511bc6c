#include "runtime/text_dataset.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"

namespace gptc {

absl::StatusOr<TextDataset> TextDataset::Load(const std::string& path,
                                              const std::string& tokenizer) {
  RETURN_IF_ERROR(CheckTokenizerName(tokenizer));
  std::optional<std::string> file = ir::ReadFile(path);
  if (!file) return absl::NotFoundError(absl::StrCat("data file '", path, "' cannot be opened"));
  std::string text = *std::move(file);
  if (text.empty())
    return absl::InvalidArgumentError(absl::StrCat("data file '", path, "' is empty"));
  return FromText(std::move(text), path);
}

absl::StatusOr<TextDataset> TextDataset::FromText(std::string text, std::string origin) {
  ASSIGN_OR_RETURN(CharTokenizer tok, CharTokenizer::FromText(text));
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, tok.Encode(text));
  TextDataset d(std::move(tok));
  const size_t n_train = static_cast<size_t>(0.9 * static_cast<double>(ids.size()));
  d.train_.assign(ids.begin(), ids.begin() + n_train);
  d.val_.assign(ids.begin() + n_train, ids.end());
  d.origin_ = std::move(origin);
  return d;
}

absl::StatusOr<Batch> TextDataset::Sample(Split split, int64_t batch, int64_t seq_len,
                                          Rng& rng) const {
  const std::vector<int32_t>& data = tokens(split);
  const int64_t n = static_cast<int64_t>(data.size());
  if (n < seq_len + 1)
    return absl::InvalidArgumentError(
        absl::StrCat("the ", split == Split::kTrain ? "train" : "val", " split of '", origin_,
                     "' has ", n, " tokens, fewer than a window of ", seq_len + 1));
  Batch b{ir::Literal(ir::I32({batch, seq_len})), ir::Literal(ir::I32({batch, seq_len}))};
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t start = static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(n - seq_len)));
    for (int64_t t = 0; t < seq_len; ++t) {
      b.tokens.data[i * seq_len + t] = data[start + t];
      b.targets.data[i * seq_len + t] = data[start + t + 1];
    }
  }
  return b;
}

Batch RandomBatch(int64_t batch, int64_t seq_len, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  Batch b{ir::Literal(ir::I32({batch, seq_len})), ir::Literal(ir::I32({batch, seq_len}))};
  for (double& x : b.tokens.data)
    x = static_cast<double>(rng.UniformInt(static_cast<uint64_t>(vocab)));
  for (double& x : b.targets.data)
    x = static_cast<double>(rng.UniformInt(static_cast<uint64_t>(vocab)));
  return b;
}

}  // namespace gptc
