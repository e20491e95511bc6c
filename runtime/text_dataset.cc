#include "runtime/text_dataset.h"

#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"
#include "runtime/parallel_encode.h"

namespace gptc {

absl::StatusOr<TextDataset> TextDataset::Load(const std::string& path, const std::string& tokenizer,
                                              const std::string& gpt2_dir) {
  if (IsTokenDirectory(path)) {
    ASSIGN_OR_RETURN(TokenFiles files, OpenTokenFiles(path));
    TextDataset d;
    ASSIGN_OR_RETURN(
        std::unique_ptr<TextTokenizer> tok,
        MakeTokenizerFromState(files.meta.tokenizer, files.meta.tokenizer_state, gpt2_dir));
    if (tok->vocab_size() != files.meta.vocab_size)
      return absl::DataLossError(absl::StrCat(path, "/meta.json: vocab_size ",
                                              files.meta.vocab_size, " but its tokenizer has ",
                                              tok->vocab_size(), " ids"));
    d.tokenizer_ = std::move(tok);
    d.files_ = std::make_shared<const TokenFiles>(std::move(files));
    d.origin_ = path;
    return d;
  }
  std::optional<std::string> file = ir::ReadFile(path);
  if (!file) return absl::NotFoundError(absl::StrCat("data file '", path, "' cannot be opened"));
  std::string text = *std::move(file);
  if (text.empty())
    return absl::InvalidArgumentError(absl::StrCat("data file '", path, "' is empty"));
  TextDataset d;
  ASSIGN_OR_RETURN(std::unique_ptr<TextTokenizer> tok,
                   MakeTokenizer(tokenizer, {tokenizer == kCharTokenizer ? text : "", gpt2_dir}));
  ASSIGN_OR_RETURN(
      std::vector<int32_t> ids,
      ParallelEncode(*tok, text, static_cast<int>(std::thread::hardware_concurrency())));
  d.tokenizer_ = std::move(tok);
  d.SplitTokens(ids);
  d.origin_ = path;
  return d;
}

absl::StatusOr<TextDataset> TextDataset::FromText(std::string text, std::string origin) {
  ASSIGN_OR_RETURN(std::unique_ptr<TextTokenizer> tok, MakeTokenizer(kCharTokenizer, {text, ""}));
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, tok->Encode(text));
  TextDataset d;
  d.tokenizer_ = std::move(tok);
  d.SplitTokens(ids);
  d.origin_ = std::move(origin);
  return d;
}

void TextDataset::SplitTokens(const std::vector<int32_t>& ids) {
  const size_t n_train = static_cast<size_t>(0.9 * static_cast<double>(ids.size()));
  train_.assign(ids.begin(), ids.begin() + n_train);
  val_.assign(ids.begin() + n_train, ids.end());
}

int64_t TextDataset::size(Split s) const {
  if (files_) return (s == Split::kTrain ? files_->train : files_->val)->size();
  return static_cast<int64_t>((s == Split::kTrain ? train_ : val_).size());
}

std::vector<int32_t> TextDataset::Tokens(Split s, int64_t start, int64_t n) const {
  std::vector<int32_t> out(n);
  if (files_) {
    (s == Split::kTrain ? files_->train : files_->val)->Read(start, n, out.data());
  } else {
    const std::vector<int32_t>& v = s == Split::kTrain ? train_ : val_;
    std::copy(v.begin() + start, v.begin() + start + n, out.begin());
  }
  return out;
}

absl::StatusOr<Batch> TextDataset::Sample(Split split, int64_t batch, int64_t seq_len,
                                          Rng& rng) const {
  const int64_t n = size(split);
  const char* name = split == Split::kTrain ? "train" : "val";
  if (n < seq_len + 1)
    return absl::InvalidArgumentError(absl::StrCat("the ", name, " split of '", origin_, "' has ",
                                                   n, " tokens, fewer than a window of ",
                                                   seq_len + 1));
  Batch b{ir::Literal(ir::I32({batch, seq_len})), ir::Literal(ir::I32({batch, seq_len}))};
  const int64_t vocab = tokenizer_->vocab_size();
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t start = static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(n - seq_len)));
    const std::vector<int32_t> w = Tokens(split, start, seq_len + 1);
    for (int64_t t = 0; t <= seq_len; ++t)
      if (w[t] < 0 || w[t] >= vocab)
        return absl::DataLossError(absl::StrCat("the ", name, " split of '", origin_,
                                                "' holds the id ", w[t], " at token ", start + t,
                                                ", outside the tokenizer's ", vocab, " ids"));
    for (int64_t t = 0; t < seq_len; ++t) {
      b.tokens.data[i * seq_len + t] = w[t];
      b.targets.data[i * seq_len + t] = w[t + 1];
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
