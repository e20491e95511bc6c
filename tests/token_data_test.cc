// Token data: `gptc prepare`'s files (nanoGPT's format) written and read back, nanoGPT's own
// files without meta.json, the splits and batches a dataset draws from them, encoding on
// several threads equal to one Encode, and a 1 GB token file costing no resident memory.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "ir/read_file.h"
#include "runtime/bpe_file.h"
#include "runtime/bpe_train.h"
#include "runtime/data_path.h"
#include "runtime/parallel_encode.h"
#include "runtime/process_memory.h"
#include "runtime/sampler.h"
#include "runtime/text_dataset.h"
#include "runtime/token_files.h"

namespace gptc {
namespace {

namespace fs = std::filesystem;

std::string Dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string Shakespeare() {
  auto path = ResolveDataPath("");
  if (!path.ok()) return "";
  return ir::ReadFile(*path).value_or("");
}

// A tokenizer gptc trained on the first 100 kB of the text.
std::unique_ptr<TextTokenizer> Trained(const std::string& text, const std::string& dir) {
  auto t = TrainBpe({std::string_view(text).substr(0, 100000)}, 500, "t");
  EXPECT_TRUE(t.ok()) << t.status();
  const std::string path = dir + "/t.bpe";
  EXPECT_TRUE(SaveBpeFile(*t, path).ok());
  auto tok = MakeTokenizer(path, {});
  EXPECT_TRUE(tok.ok()) << tok.status();
  return *std::move(tok);
}

TEST(TokenFiles, WrittenFilesReadBackWithTheirTokenizer) {
  const std::string text = Shakespeare();
  if (text.empty()) GTEST_SKIP() << "no Tiny Shakespeare (scripts/setup.sh places it)";
  const std::string dir = Dir("tokens");
  auto tok = Trained(text, dir);
  auto ids = tok->Encode(text);
  ASSERT_TRUE(ids.ok());
  const size_t n_train = ids->size() * 9 / 10;
  const std::vector<int32_t> train(ids->begin(), ids->begin() + n_train),
      val(ids->begin() + n_train, ids->end());
  ASSERT_TRUE(WriteTokenFiles(dir + "/data", train, val, *tok).ok());
  EXPECT_EQ(fs::file_size(dir + "/data/train.bin"), 2 * train.size());  // uint16
  auto d = TextDataset::Load(dir + "/data");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->tokenizer().name(), "bpe");
  EXPECT_EQ(d->tokenizer().vocab_size(), 500);
  EXPECT_EQ(d->size(Split::kTrain), static_cast<int64_t>(train.size()));
  EXPECT_EQ(d->size(Split::kVal), static_cast<int64_t>(val.size()));
  EXPECT_EQ(d->Tokens(Split::kVal, 0, 100), std::vector<int32_t>(val.begin(), val.begin() + 100));
  // The recorded tokenizer encodes as the one that wrote the files.
  EXPECT_EQ(*d->tokenizer().Encode(text.substr(0, 5000)), *tok->Encode(text.substr(0, 5000)));
  // Batches: windows of the split, targets shifted by one.
  Rng rng(3);
  auto b = d->Sample(Split::kTrain, 4, 16, rng);
  ASSERT_TRUE(b.ok()) << b.status();
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t t = 0; t + 1 < 16; ++t)
      EXPECT_EQ(b->targets.data[i * 16 + t], b->tokens.data[i * 16 + t + 1]);
}

// A tokenizer with more than 65536 ids: the files hold uint32.
class Wide : public TextTokenizer {
 public:
  std::string name() const override { return "gpt2"; }
  std::string state() const override { return ""; }
  int vocab_size() const override { return 70000; }
  std::optional<int32_t> end_of_text() const override { return std::nullopt; }
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view) const override {
    return std::vector<int32_t>();
  }
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>&) const override { return ""; }
};

TEST(TokenFiles, WideVocabulariesAreUint32) {
  const std::string dir = Dir("wide");
  const std::vector<int32_t> train = {1, 69999, 65536, 2}, val = {65535, 3};
  ASSERT_TRUE(WriteTokenFiles(dir, train, val, Wide()).ok());
  EXPECT_EQ(fs::file_size(dir + "/train.bin"), 16u);
  auto f = OpenTokenFiles(dir);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->meta.bytes_per_token, 4);
  std::vector<int32_t> got(4);
  f->train->Read(0, 4, got.data());
  EXPECT_EQ(got, train);
}

TEST(TokenFiles, NanoGptsFilesWithoutMetaAreGpt2Uint16) {
  const std::string dir = Dir("nanogpt");
  const uint16_t ids[] = {5962, 22307, 25, 198, 8421, 356};  // "First Citizen:\nBefore we"
  std::ofstream(dir + "/train.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(ids), sizeof(ids));
  std::ofstream(dir + "/val.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(ids), sizeof(ids));
  auto f = OpenTokenFiles(dir);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->meta.tokenizer, "gpt2");
  EXPECT_EQ(f->meta.bytes_per_token, 2);
  EXPECT_EQ(f->train->size(), 6);
  auto d = TextDataset::Load(dir);
  if (!d.ok() && d.status().message().find("GPT-2's vocabulary") != std::string::npos)
    GTEST_SKIP() << d.status().message();
  ASSERT_TRUE(d.ok()) << d.status();
  auto text = d->tokenizer().Decode(d->Tokens(Split::kTrain, 0, 6));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "First Citizen:\nBefore we");
}

TEST(TokenFiles, BadFilesAreErrorsNamingThem) {
  const std::string dir = Dir("bad");
  std::ofstream(dir + "/train.bin", std::ios::binary) << "abc";  // 3 bytes: not uint16s
  std::ofstream(dir + "/val.bin", std::ios::binary) << "ab";
  auto f = OpenTokenFiles(dir);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("train.bin"), std::string::npos) << f.status();
  std::ofstream(dir + "/meta.json") << "{\"dtype\": \"int8\"}";
  f = OpenTokenFiles(dir);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("meta.json"), std::string::npos) << f.status();
  fs::remove(dir + "/meta.json");
  std::ofstream(dir + "/meta.pkl") << "x";
  f = OpenTokenFiles(dir);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("meta.pkl"), std::string::npos) << f.status();
  // An id beyond the vocabulary: the batch that reads it fails, naming the split and place.
  const std::string d2 = Dir("bad_ids");
  auto tok = MakeTokenizer("char", {"ab", ""});
  ASSERT_TRUE(tok.ok());
  ASSERT_TRUE(WriteTokenFiles(d2, std::vector<int32_t>(64, 7), {0, 1, 0, 1}, **tok).ok());
  auto d = TextDataset::Load(d2);
  ASSERT_TRUE(d.ok()) << d.status();
  Rng rng(1);
  auto b = d->Sample(Split::kTrain, 1, 8, rng);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("id 7"), std::string::npos) << b.status();
}

TEST(ParallelEncode, EqualsOneEncodeCall) {
  const std::string text = Shakespeare();
  if (text.empty()) GTEST_SKIP() << "no Tiny Shakespeare";
  const std::string dir = Dir("parallel");
  auto tok = Trained(text, dir);
  const std::string big = text + text;  // > 1 MiB: several chunks
  const std::vector<size_t> cuts = SafeCuts(big, 1 << 18);
  ASSERT_GT(cuts.size(), 4u);
  for (size_t i = 1; i + 1 < cuts.size(); ++i) EXPECT_EQ(big[cuts[i] - 1], '\n');
  auto one = tok->Encode(big);
  auto many = ParallelEncode(*tok, big, 4);
  ASSERT_TRUE(one.ok() && many.ok());
  EXPECT_EQ(*one, *many);
}

// A 1 GB train.bin (sparse: zeros, the id of the first character) read batch after batch:
// the resident set stays flat, as each window's pages are handed back.
TEST(TokenFiles, AGigabyteOfTokensCostsNoResidentMemory) {
  const std::string dir = Dir("gigabyte");
  auto tok = MakeTokenizer("char", {"ab", ""});
  ASSERT_TRUE(tok.ok());
  ASSERT_TRUE(WriteTokenFiles(dir, {0, 1}, std::vector<int32_t>(4096, 1), **tok).ok());
  const int fd = ::open((dir + "/train.bin").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, int64_t{1} << 30), 0);
  ::close(fd);
  auto d = TextDataset::Load(dir);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->size(Split::kTrain), int64_t{1} << 29);
  Rng rng(1);
  ASSERT_TRUE(d->Sample(Split::kTrain, 8, 1024, rng).ok());  // warm the code paths
  const int64_t before = ResidentBytes();
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(d->Sample(Split::kTrain, 8, 1024, rng).ok());
  const int64_t grown = ResidentBytes() - before;
  // 400 batches of 8 windows touch ~3,200 pages (12.5 MiB) without the hand-back.
  EXPECT_LT(grown, 4 << 20) << "resident set grew by " << grown << " bytes";
}

// Streaming a BPE model's text: bytes of a multi-byte character that a token ends inside are
// held back until the character is complete.
TEST(Sampler, HoldsBackAnUnfinishedUtf8Character) {
  EXPECT_EQ(CompleteUtf8Prefix("abc"), 3u);
  EXPECT_EQ(CompleteUtf8Prefix("caf\xc3"), 3u);        // é's first byte of two
  EXPECT_EQ(CompleteUtf8Prefix("caf\xc3\xa9"), 5u);    // é complete
  EXPECT_EQ(CompleteUtf8Prefix("x\xe6\x97"), 1u);      // 2 of 日's 3 bytes
  EXPECT_EQ(CompleteUtf8Prefix("x\xf0\x9f\x98"), 1u);  // 3 of an emoji's 4
  EXPECT_EQ(CompleteUtf8Prefix("x\xf0\x9f\x98\x80"), 5u);
  EXPECT_EQ(CompleteUtf8Prefix("\xa9\xa9\xa9\xa9"), 4u);  // stray continuation bytes
  EXPECT_EQ(CompleteUtf8Prefix(""), 0u);
}

}  // namespace
}  // namespace gptc
