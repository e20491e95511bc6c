// Byte-level BPE: GPT-2's tokenizer against ids made by a reference implementation (the
// committed fixture always; the whole of Tiny Shakespeare where tiktoken or tokenizers is
// installed), round trips of arbitrary bytes, the pre-tokenizer's pieces, training and the
// saved file, and errors on bad vocabulary files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "ir/read_file.h"
#include "ir/rng.h"
#include "runtime/bpe_file.h"
#include "runtime/bpe_train.h"
#include "runtime/byte_unicode.h"
#include "runtime/data_path.h"
#include "runtime/gpt2_vocab.h"
#include "runtime/pretokenizer.h"
#include "tests/run_process.h"

namespace gptc {
namespace {

std::string Read(const std::string& path) { return ir::ReadFile(path).value_or(""); }

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<int32_t> ParseIds(const std::string& s) {
  std::vector<int32_t> ids;
  for (const std::string& t : std::vector<std::string>(absl::StrSplit(s, ' ', absl::SkipEmpty()))) {
    int32_t id;
    EXPECT_TRUE(absl::SimpleAtoi(t, &id)) << t;
    ids.push_back(id);
  }
  return ids;
}

// GPT-2's tokenizer, or a skip naming why it is missing.
#define LOAD_GPT2_OR_SKIP(tok)                                 \
  auto dir_or = ResolveGpt2Dir();                              \
  if (!dir_or.ok()) GTEST_SKIP() << dir_or.status().message(); \
  auto tok_or = LoadGpt2Tokenizer(*dir_or);                    \
  ASSERT_TRUE(tok_or.ok()) << tok_or.status();                 \
  const BpeTokenizer& tok = *tok_or

TEST(Gpt2Tokenizer, MatchesTheReferenceFixture) {
  LOAD_GPT2_OR_SKIP(tok);
  EXPECT_EQ(tok.vocab_size(), 50257);
  EXPECT_EQ(tok.SpecialId("<|endoftext|>"), 50256);
  const std::string fixture =
      Read(std::string(GPTC_SOURCE_DIR) + "/tests/testdata/gpt2_tokens.txt");
  int cases = 0;
  for (const std::string& line :
       std::vector<std::string>(absl::StrSplit(fixture, '\n', absl::SkipEmpty()))) {
    if (line[0] == '#') continue;
    const std::vector<std::string> parts = absl::StrSplit(line, '\t');
    ASSERT_EQ(parts.size(), 2u) << line;
    const std::string text = absl::HexStringToBytes(parts[0]);
    SCOPED_TRACE(text);
    EXPECT_EQ(tok.Encode(text), ParseIds(parts[1]));
    auto back = tok.Decode(tok.Encode(text));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text);
    ++cases;
  }
  EXPECT_GE(cases, 20);
}

TEST(Gpt2Tokenizer, MatchesTheReferenceOnTinyShakespeare) {
  LOAD_GPT2_OR_SKIP(tok);
  auto data = ResolveDataPath("");
  if (!data.ok()) GTEST_SKIP() << data.status().message();
  const testing::ProcessResult ref =
      testing::RunCommand("/usr/bin/python3 " + std::string(GPTC_SOURCE_DIR) +
                          "/scripts/gpt2_reference.py " + *dir_or + " encode " + *data + " 2>&1");
  if (ref.code == 77 || ref.code == 127 || ref.out.find("No such file") != std::string::npos)
    GTEST_SKIP() << "no reference tokenizer: " << ref.out;
  ASSERT_EQ(ref.code, 0) << ref.out;
  const std::vector<int32_t> want = ParseIds(ref.out), got = tok.Encode(Read(*data));
  ASSERT_GT(want.size(), 300000u);
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  EXPECT_EQ(i, want.size()) << "first difference at token " << i << " of " << want.size();
  EXPECT_EQ(got.size(), want.size());
}

// Random bytes, invalid UTF-8, NULs and long runs included.
std::vector<std::string> ArbitraryBytes() {
  Rng rng(7);
  std::vector<std::string> out = {"",
                                  std::string(3000, ' '),
                                  std::string(2000, 'a'),
                                  "\xff\xfe\xc3",
                                  std::string("a\0b", 3),
                                  "\xe6\x97 cut"};
  for (int n = 0; n < 200; ++n) {
    std::string s;
    const int len = static_cast<int>(rng.UniformInt(64));
    for (int i = 0; i < len; ++i) s.push_back(static_cast<char>(rng.UniformInt(256)));
    out.push_back(s);
  }
  return out;
}

TEST(Gpt2Tokenizer, AnyBytesRoundTrip) {
  LOAD_GPT2_OR_SKIP(tok);
  for (const std::string& s : ArbitraryBytes()) {
    auto back = tok.Decode(tok.Encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
}

TEST(Pretokenizer, SplitsAsGpt2sRegex) {
  auto p = Pretokenizer::Gpt2();
  ASSERT_TRUE(p.ok()) << p.status();
  auto pieces = [&](std::string_view s) {
    std::vector<std::string> v;
    for (std::string_view x : p->Split(s)) v.emplace_back(x);
    return v;
  };
  using V = std::vector<std::string>;
  // A space joins the word after it, except the last of a run (\s+(?!\S)).
  EXPECT_EQ(pieces("I'm  here\n\n there"), (V{"I", "'m", " ", " here", "\n\n", " there"}));
  EXPECT_EQ(pieces("it's 42!?  "), (V{"it", "'s", " 42", "!?", "  "}));
  // U+0085 is Unicode whitespace (PCRE2's own \s leaves it out): a run of it before a letter
  // splits as spaces do, but only U+0020 joins the word.
  EXPECT_EQ(pieces("a\xc2\x85\xc2\x85"
                   "b"),
            (V{"a", "\xc2\x85", "\xc2\x85", "b"}));
  // Invalid UTF-8 becomes pieces of its own; nothing is lost.
  EXPECT_EQ(pieces("ab\xff\xfe"
                   "cd"),
            (V{"ab", "\xff\xfe", "cd"}));
}

TEST(BpeTrain, MergesTheMostFrequentPairFirstAndIsDeterministic) {
  const std::string text = "aaab aaab aaab abab ab";
  auto t = TrainBpe({text}, 260, "t");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->merges().size(), 3u);  // 256 bytes + 3 merges + <|endoftext|> = 260
  // Pieces: "aaab" x1, " aaab" x2, " abab" x1, " ab" x1. Pair counts: (a,a) 6, (a,b) 6,
  // (' ',a) 4, (b,a) 1: (a,a) and (a,b) tie, the smaller ids win: (97,97).
  EXPECT_EQ(t->merges()[0].left, 'a');
  EXPECT_EQ(t->merges()[0].right, 'a');
  EXPECT_EQ(t->TokenBytes(t->merges()[0].result), "aa");
  EXPECT_EQ(t->vocab_size(), 260);
  EXPECT_EQ(t->SpecialId("<|endoftext|>"), 259);
  auto again = TrainBpe({text}, 260, "t");
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < t->merges().size(); ++i) {
    EXPECT_EQ(t->merges()[i].left, again->merges()[i].left);
    EXPECT_EQ(t->merges()[i].right, again->merges()[i].right);
  }
  EXPECT_FALSE(TrainBpe({text}, 256, "t").ok());
}

std::string Sample() {
  std::string text;
  for (int i = 0; i < 50; ++i)
    text +=
        "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n";
  return text;
}

TEST(BpeTrain, CompressesItsTextAndRoundTripsAnyBytes) {
  const std::string text = Sample();
  auto t = TrainBpe({text}, 400, "t");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_LT(t->Encode(text).size(), text.size() / 3);
  for (const std::string& s : ArbitraryBytes()) {
    auto back = t->Decode(t->Encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(t->Decode({t->vocab_size()}).ok());
}

TEST(BpeFile, SavesAndLoadsTheSameTokenizer) {
  auto t = TrainBpe({Sample()}, 380, "t");
  ASSERT_TRUE(t.ok());
  const std::string path = ::testing::TempDir() + "/bpe_test.bpe";
  ASSERT_TRUE(SaveBpeFile(*t, path).ok());
  auto loaded = LoadBpeFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->name(), "bpe:" + path);
  EXPECT_EQ(loaded->vocab_size(), t->vocab_size());
  EXPECT_EQ(loaded->Encode(Sample()), t->Encode(Sample()));
  EXPECT_EQ(loaded->SpecialId("<|endoftext|>"), t->SpecialId("<|endoftext|>"));
}

TEST(BpeFile, BadFilesAreErrorsNamingTheRecord) {
  const std::string path = ::testing::TempDir() + "/bad.bpe";
  auto expect_error = [&](const std::string& text, const std::string& part) {
    Write(path, text);
    auto t = LoadBpeFile(path);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_NE(t.status().message().find(part), std::string::npos) << t.status();
    EXPECT_NE(t.status().message().find(path), std::string::npos) << t.status();
  };
  expect_error("gptc-bpe 2\n", "header");
  expect_error("gptc-bpe 1\nmerges 2\n97 97\n", "ends after 1 merges");
  expect_error("gptc-bpe 1\nmerges 1\n97 300\nspecials 0\n", "record 3");
  expect_error("gptc-bpe 1\nmerges 0\nspecials 1\n300 <|x|>\n", "expected 256");
  expect_error("gptc-bpe 1\nmerges 0\nspecials 0\nextra\n", "unexpected record");
  EXPECT_FALSE(LoadBpeFile(path + ".missing").ok());
}

TEST(Gpt2Vocab, BadFilesAreErrorsNamingTheFile) {
  const std::string dir = ::testing::TempDir() + "/bad_gpt2";
  std::filesystem::create_directories(dir);
  Write(dir + "/encoder.json", "{not json");
  Write(dir + "/vocab.bpe", "#version: 0.2\n");
  auto t = LoadGpt2Tokenizer(dir);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("encoder.json"), std::string::npos) << t.status();
  // A merge naming a token the encoder lacks: the file and line.
  std::string enc = "{";
  for (int b = 0; b < 256; ++b) {
    std::string text = BytesToVocabText(std::string(1, static_cast<char>(b)));
    if (text == "\"" || text == "\\") text = "\\" + text;
    absl::StrAppend(&enc, b ? ", " : "", "\"", text, "\": ", b);
  }
  Write(dir + "/encoder.json", enc + "}");
  Write(dir + "/vocab.bpe", "#version: 0.2\na q\n");
  t = LoadGpt2Tokenizer(dir);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("vocab.bpe:2"), std::string::npos) << t.status();
  // Without the merge it loads: 256 byte tokens.
  Write(dir + "/vocab.bpe", "#version: 0.2\n");
  t = LoadGpt2Tokenizer(dir);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->vocab_size(), 256);
  ASSERT_FALSE(ResolveGpt2Dir(dir + "/nowhere").ok());
}

}  // namespace
}  // namespace gptc
