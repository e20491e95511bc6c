// `gptc prepare`: text files to nanoGPT's token files (runtime/token_files.h), tokenised on
// every core. Several inputs are documents: each is followed by <|endoftext|> where the
// tokenizer has it (as nanoGPT's openwebtext prepare.py does). The ids are split 90/10 into
// train.bin and val.bin.
//
//   gptc prepare --tokenizer=gpt2 data/tinyshakespeare.txt --out=data/shakespeare
//   gptc train --data=data/shakespeare --config=...
#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ir/read_file.h"
#include "runtime/parallel_encode.h"
#include "runtime/text_tokenizer.h"
#include "runtime/token_files.h"
#include "tools/commands.h"
#include "tools/model_flags.h"

namespace gptc::tools {

int RunPrepare(const Args& args) {
  FlagSet flags("prepare");
  flags.String("tokenizer", "gpt2", "gpt2, char, or a tokenizer file from `gptc tokenizer train`");
  flags.String("gpt2-dir", "", "directory of GPT-2's encoder.json and vocab.bpe");
  flags.String("out", "", "the directory to write train.bin, val.bin and meta.json into");
  flags.Double("split", 0.9, "the fraction of the tokens that goes to train.bin");
  flags.Int("threads", 0, "threads that tokenise (0: every core)");
  flags.AllowPositionals(1 << 20);
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc prepare --tokenizer=T --out=DIR INPUT...\n" << flags.Usage();
    return 0;
  }
  const std::string out = flags.GetString("out");
  const double split = flags.GetDouble("split");
  if (out.empty() || flags.positionals().empty() || !(split > 0 && split < 1))
    return Fail(absl::InvalidArgumentError(
                    "prepare: give --out=DIR, at least one input file, and 0 < --split < 1"),
                2);
  // Every input is read before anything is tokenised or written.
  std::vector<std::string> texts;
  std::string all;  // the char tokenizer's vocabulary is every input's bytes
  for (const std::string& path : flags.positionals()) {
    std::optional<std::string> t = ir::ReadFile(path);
    if (!t) return Fail(absl::NotFoundError(absl::StrCat("cannot read ", path)));
    if (flags.GetString("tokenizer") == "char") all += *t;
    texts.push_back(*std::move(t));
  }
  auto tok = MakeTokenizer(flags.GetString("tokenizer"), {all, flags.GetString("gpt2-dir")});
  if (!tok.ok()) return Fail(tok.status());
  int threads = static_cast<int>(flags.GetInt("threads"));
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> ids;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto part = ParallelEncode(**tok, texts[i], threads);
    if (!part.ok()) return Fail(part.status());
    ids.insert(ids.end(), part->begin(), part->end());
    if (texts.size() > 1 && (*tok)->end_of_text()) ids.push_back(*(*tok)->end_of_text());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto n_train = static_cast<size_t>(split * static_cast<double>(ids.size()));
  const std::vector<int32_t> train(ids.begin(), ids.begin() + n_train),
      val(ids.begin() + n_train, ids.end());
  if (auto s = WriteTokenFiles(out, train, val, **tok); !s.ok()) return Fail(s);
  size_t bytes = 0;
  for (const std::string& t : texts) bytes += t.size();
  std::cout << absl::StrFormat(
      "%s: %d bytes -> %d tokens (%.2f bytes/token) on %d threads in %.2f s; train.bin %d, "
      "val.bin %d tokens (%s) in %s\n",
      (*tok)->name(), bytes, ids.size(), ids.empty() ? 0.0 : double(bytes) / ids.size(), threads,
      secs, train.size(), val.size(), (*tok)->vocab_size() > 65536 ? "uint32" : "uint16", out);
  return 0;
}

}  // namespace gptc::tools
