// Tokenizer, train/val split, batches and the data-file lookup.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"
#include "runtime/data_path.h"
#include "runtime/text_dataset.h"
#include "runtime/tokenizer.h"

namespace gptc {
namespace {

TEST(Tokenizer, SortedUniqueBytesAndRoundTrip) {
  auto t = CharTokenizer::FromText("hello world");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->alphabet(), " dehlorw");
  auto ids = t->Encode("hold");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{3, 5, 4, 1}));
  EXPECT_EQ(*t->Decode(*ids), "hold");
}

TEST(Tokenizer, Errors) {
  EXPECT_EQ(CharTokenizer::FromText("").status().message(), "tokenizer: the text is empty");
  auto t = CharTokenizer::FromText("ab");
  EXPECT_EQ(t->Encode("abc").status().message(),
            "tokenizer: byte 0x63 at position 2 is not in the vocabulary");
  EXPECT_EQ(t->Decode({0, 2}).status().message(), "tokenizer: id 2 at position 1 is outside [0,2)");
}

TEST(TextDataset, TinyShakespeareHas65CharactersAndA90To10Split) {
  auto path = ResolveDataPath("");
  ASSERT_TRUE(path.ok()) << path.status();
  auto d = TextDataset::Load(*path);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->tokenizer().vocab_size(), 65);
  EXPECT_EQ(d->size(Split::kTrain), 1003854);  // int(0.9 * 1115394), as nanoGPT
  EXPECT_EQ(d->size(Split::kVal), 111540);
}

TEST(TextDataset, BatchesAreShiftedWindowsAndReproducible) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text.push_back(static_cast<char>('a' + i % 26));
  auto d = TextDataset::FromText(text);
  ASSERT_TRUE(d.ok());
  Rng r1(5), r2(5);
  auto b1 = d->Sample(Split::kTrain, 3, 8, r1);
  auto b2 = d->Sample(Split::kTrain, 3, 8, r2);
  ASSERT_TRUE(b1.ok() && b2.ok());
  EXPECT_EQ(b1->tokens.data, b2->tokens.data);
  for (int i = 0; i < 3; ++i)
    for (int t = 0; t < 8; ++t) {
      // Consecutive letters: the target is the next letter of the alphabet.
      EXPECT_EQ(b1->targets.data[i * 8 + t], std::fmod(b1->tokens.data[i * 8 + t] + 1, 26));
      if (t > 0) {
        EXPECT_EQ(b1->tokens.data[i * 8 + t], b1->targets.data[i * 8 + t - 1]);
      }
    }
  EXPECT_EQ(d->Sample(Split::kVal, 1, 200, r1).status().message(),
            "the val split of '<text>' has 100 tokens, fewer than a window of 201");
}

TEST(DataPath, MissingOrEmptyFilesNameThePath) {
  EXPECT_EQ(ResolveDataPath("/no/such/file.txt").status().message(),
            "data file '/no/such/file.txt' (from --data) is missing or empty");
  const std::string empty = ::testing::TempDir() + "empty.txt";
  std::ofstream(empty).close();
  EXPECT_EQ(TextDataset::Load(empty).status().message(), "data file '" + empty + "' is empty");
  setenv("GPTC_DATA", "/no/env/file.txt", 1);
  EXPECT_EQ(ResolveDataPath("").status().message(),
            "data file '/no/env/file.txt' (from $GPTC_DATA) is missing or empty");
  unsetenv("GPTC_DATA");
  EXPECT_EQ(TextDataset::Load("/no/such/file.txt").status().message(),
            "data file '/no/such/file.txt' cannot be opened");
}

}  // namespace
}  // namespace gptc
