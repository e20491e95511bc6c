// `gptc tokenizer`: text to token ids and back with any of gptc's tokenizers, and training a
// byte-level BPE tokenizer.
//
//   gptc tokenizer encode --tokenizer=gpt2 < text > ids      (one line, space-separated)
//   gptc tokenizer decode --tokenizer=gpt2 < ids > text
//   gptc tokenizer train --vocab-size=4096 --out=shakespeare.bpe data/tinyshakespeare.txt
//   gptc tokenizer encode --tokenizer=shakespeare.bpe < text
#include <chrono>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"
#include "runtime/bpe_file.h"
#include "runtime/bpe_train.h"
#include "runtime/data_path.h"
#include "runtime/text_tokenizer.h"
#include "tools/commands.h"
#include "tools/model_flags.h"

namespace gptc::tools {
namespace {

void AddTokenizerFlags(FlagSet& flags) {
  flags.String("tokenizer", "gpt2", "gpt2, char, or a tokenizer file from `gptc tokenizer train`");
  flags.String("gpt2-dir", "",
               "directory of GPT-2's encoder.json and vocab.bpe (default: "
               "$GPTC_GPT2_DIR, then data/gpt2 as scripts/setup.sh places it)");
  flags.String("data", "",
               "char: the text whose characters are the vocabulary (default: the "
               "training text, as `gptc train` finds it)");
  flags.Bool("stats", false, "print tokens, bytes and the encoding's speed (one thread) to stderr");
}

absl::StatusOr<std::unique_ptr<TextTokenizer>> TokenizerFromFlags(const FlagSet& flags) {
  TokenizerSources src;
  src.gpt2_dir = flags.GetString("gpt2-dir");
  if (flags.GetString("tokenizer") == "char") {
    ASSIGN_OR_RETURN(const std::string path, ResolveDataPath(flags.GetString("data")));
    std::optional<std::string> text = ir::ReadFile(path);
    if (!text) return absl::NotFoundError(absl::StrCat("cannot read ", path));
    src.char_text = *std::move(text);
  }
  return MakeTokenizer(flags.GetString("tokenizer"), src);
}

int Encode(const FlagSet& flags) {
  auto tok = TokenizerFromFlags(flags);
  if (!tok.ok()) return Fail(tok.status());
  const std::string text(std::istreambuf_iterator<char>(std::cin), {});
  const auto start = std::chrono::steady_clock::now();
  auto ids = (*tok)->Encode(text);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!ids.ok()) return Fail(ids.status());
  std::cout << absl::StrJoin(*ids, " ") << "\n";
  if (flags.GetBool("stats"))
    std::cerr << absl::StrFormat(
        "%s: %d bytes -> %d tokens (%.3f bytes/token) in %.4f s, %.1f MB/s\n", (*tok)->name(),
        text.size(), ids->size(), ids->empty() ? 0.0 : double(text.size()) / ids->size(), secs,
        text.size() / secs / 1e6);
  return 0;
}

int Decode(const FlagSet& flags) {
  auto tok = TokenizerFromFlags(flags);
  if (!tok.ok()) return Fail(tok.status());
  std::vector<int32_t> ids;
  std::string word;
  for (int64_t n = 0; std::cin >> word; ++n) {
    int32_t id;
    if (!absl::SimpleAtoi(word, &id))
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("decode: '", word, "' (word ", n + 1, " of the input) is not a token id")));
    ids.push_back(id);
  }
  auto text = (*tok)->Decode(ids);
  if (!text.ok()) return Fail(text.status());
  std::cout << *text;
  return 0;
}

int Train(const FlagSet& flags) {
  if (flags.positionals().empty())
    return Fail(absl::InvalidArgumentError("tokenizer train: name the text files to train on"), 2);
  const std::string out = flags.GetString("out");
  if (out.empty())
    return Fail(absl::InvalidArgumentError("tokenizer train: --out=FILE is required"), 2);
  std::vector<std::string> texts;
  for (const std::string& path : flags.positionals()) {
    std::optional<std::string> t = ir::ReadFile(path);
    if (!t) return Fail(absl::NotFoundError(absl::StrCat("cannot read ", path)));
    texts.push_back(*std::move(t));
  }
  const auto start = std::chrono::steady_clock::now();
  auto tok = TrainBpe(std::vector<std::string_view>(texts.begin(), texts.end()),
                      static_cast<int>(flags.GetInt("vocab-size")), BpeFileTokenizerName(out));
  if (!tok.ok()) return Fail(tok.status(), 2);
  if (auto s = SaveBpeFile(*tok, out); !s.ok()) return Fail(s);
  std::cout << absl::StrFormat(
      "trained %d merges (vocabulary %d) in %.2f s; wrote %s\n", tok->merges().size(),
      tok->vocab_size(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), out);
  return 0;
}

}  // namespace

int RunTokenizer(const Args& args) {
  const std::string usage =
      "usage: gptc tokenizer encode|decode [--tokenizer=gpt2|char|FILE] < input\n"
      "       gptc tokenizer train --vocab-size=N --out=FILE INPUT...";
  if (args.empty() || (args[0] != "encode" && args[0] != "decode" && args[0] != "train"))
    return Fail(absl::InvalidArgumentError(
                    absl::StrCat(args.empty() ? "tokenizer: name a subcommand"
                                              : "tokenizer: unknown subcommand '" + args[0] + "'",
                                 "\n", usage)),
                2);
  FlagSet flags("tokenizer " + args[0]);
  if (args[0] == "train") {
    flags.Int("vocab-size", 4096, "ids in all: the 256 bytes, the merges and <|endoftext|>");
    flags.String("out", "", "the tokenizer file to write");
    flags.AllowPositionals(1 << 20);
  } else {
    AddTokenizerFlags(flags);
  }
  if (auto s = flags.Parse(Args(args.begin() + 1, args.end())); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << usage << "\n" << flags.Usage();
    return 0;
  }
  if (args[0] == "encode") return Encode(flags);
  if (args[0] == "decode") return Decode(flags);
  return Train(flags);
}

}  // namespace gptc::tools
