// `gptc tokenizer` as a user runs it: encode and decode through files and pipes with GPT-2's
// tokenizer (skipped where its vocabulary is not found) and a trained one, and errors that
// name what is wrong.
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "ir/read_file.h"
#include "runtime/gpt2_vocab.h"
#include "tests/run_process.h"

namespace gptc {
namespace {

using Result = testing::ProcessResult;
Result Gptc(const std::string& args) {
  return testing::RunCommand(std::string(GPTC_BINARY) + " " + args);
}

std::string Tmp(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string Read(const std::string& path) { return ir::ReadFile(path).value_or(""); }

const char* kText = "Hello, world! It's caf\xc3\xa9 time.\n\n  Spaces\tand tabs\n";

TEST(TokenizerCli, Gpt2EncodesAndDecodesBack) {
  if (auto dir = ResolveGpt2Dir(); !dir.ok()) GTEST_SKIP() << dir.status().message();
  Write(Tmp("in.txt"), kText);
  Result enc =
      Gptc("tokenizer encode --tokenizer=gpt2 < " + Tmp("in.txt") + " > " + Tmp("ids.txt"));
  ASSERT_EQ(enc.code, 0) << enc.out;
  // "Hello, world!" is 15496 11 995 0 in GPT-2's vocabulary (tiktoken, the fixture).
  EXPECT_EQ(Read(Tmp("ids.txt")).rfind("15496 11 995 0 ", 0), 0u) << Read(Tmp("ids.txt"));
  Result dec =
      Gptc("tokenizer decode --tokenizer=gpt2 < " + Tmp("ids.txt") + " > " + Tmp("out.txt"));
  ASSERT_EQ(dec.code, 0) << dec.out;
  EXPECT_EQ(Read(Tmp("out.txt")), kText);
}

TEST(TokenizerCli, TrainsATokenizerThatRoundTrips) {
  std::string corpus;
  for (int i = 0; i < 40; ++i) corpus += kText;
  Write(Tmp("corpus.txt"), corpus);
  Result train =
      Gptc("tokenizer train --vocab-size=280 --out=" + Tmp("t.bpe") + " " + Tmp("corpus.txt"));
  ASSERT_EQ(train.code, 0) << train.out;
  EXPECT_NE(train.out.find("vocabulary 280"), std::string::npos) << train.out;
  // (...) keeps the --stats line (stderr) out of the ids.
  Result enc = testing::RunCommand(
      "(" + std::string(GPTC_BINARY) + " tokenizer encode --stats --tokenizer=" + Tmp("t.bpe") +
      " < " + Tmp("corpus.txt") + " > " + Tmp("tids.txt") + " 2> " + Tmp("stats.txt") + ")");
  ASSERT_EQ(enc.code, 0) << enc.out;
  EXPECT_NE(Read(Tmp("stats.txt")).find("tokens"), std::string::npos) << Read(Tmp("stats.txt"));
  Result dec = Gptc("tokenizer decode --tokenizer=" + Tmp("t.bpe") + " < " + Tmp("tids.txt") +
                    " > " + Tmp("tout.txt"));
  ASSERT_EQ(dec.code, 0) << dec.out;
  EXPECT_EQ(Read(Tmp("tout.txt")), corpus);
}

TEST(TokenizerCli, ErrorsNameTheFault) {
  Result r = Gptc("tokenizer");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("encode|decode"), std::string::npos) << r.out;
  r = Gptc("tokenizer encode --tokenizer=" + Tmp("missing.bpe") + " < /dev/null");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("missing.bpe"), std::string::npos) << r.out;
  r = Gptc("tokenizer train --vocab-size=100 --out=" + Tmp("x.bpe") + " " + Tmp("corpus.txt"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--vocab-size=100"), std::string::npos) << r.out;
  r = Gptc("tokenizer train --out=" + Tmp("x.bpe") + " " + Tmp("nothing.txt"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("nothing.txt"), std::string::npos) << r.out;
  Write(Tmp("bad_ids.txt"), "1 2 notanumber");
  r = Gptc("tokenizer decode --tokenizer=" + Tmp("t.bpe") + " < " + Tmp("bad_ids.txt"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("notanumber"), std::string::npos) << r.out;
  Write(Tmp("big_ids.txt"), "1 999999");
  r = Gptc("tokenizer decode --tokenizer=" + Tmp("t.bpe") + " < " + Tmp("big_ids.txt"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("999999"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace gptc
