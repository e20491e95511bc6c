// The token-data workflow as a user runs it: `gptc tokenizer train`, `gptc prepare` with that
// tokenizer, `gptc train --data=DIR` and `gptc sample` from the checkpoint alone (the token
// directory deleted first: the checkpoint carries its tokenizer).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/data_path.h"
#include "tests/run_process.h"

namespace gptc {
namespace {

using Result = testing::ProcessResult;
Result Gptc(const std::string& args) {
  return testing::RunCommand(std::string(GPTC_BINARY) + " " + args);
}

TEST(PrepareCli, TrainedTokenizerPrepareTrainAndSample) {
  auto data = ResolveDataPath("");
  if (!data.ok()) GTEST_SKIP() << data.status().message();
  const std::string dir = ::testing::TempDir() + "/prepare_cli";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Result r = Gptc("tokenizer train --vocab-size=512 --out=" + dir + "/t.bpe " + *data);
  ASSERT_EQ(r.code, 0) << r.out;
  r = Gptc("prepare --tokenizer=" + dir + "/t.bpe --out=" + dir + "/tokens " + *data);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream meta_in(dir + "/tokens/meta.json");
  nlohmann::json meta = nlohmann::json::parse(meta_in);
  EXPECT_EQ(meta["tokenizer"], "bpe");
  EXPECT_EQ(meta["vocab_size"], 512);
  EXPECT_EQ(meta["dtype"], "uint16");
  const int64_t total = meta["train_tokens"].get<int64_t>() + meta["val_tokens"].get<int64_t>();
  EXPECT_EQ(std::filesystem::file_size(dir + "/tokens/train.bin"),
            2 * meta["train_tokens"].get<uint64_t>());
  // Fewer tokens than bytes: 255 merges take Tiny Shakespeare to ~1.9 bytes a token.
  EXPECT_LT(total, static_cast<int64_t>(std::filesystem::file_size(*data)) * 6 / 10);
  r = Gptc("train --config=tiny --steps=20 --eval-interval=20 --sample-tokens=0 --data=" + dir +
           "/tokens --out-dir=" + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("vocab=512"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir + "/tokens");
  std::filesystem::remove(dir + "/t.bpe");
  r = Gptc("sample --out-dir=" + dir + "/out --tokens=20 --prompt=\"ROMEO:\"");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ROMEO:"), std::string::npos) << r.out;
  r = Gptc("prepare --out=" + dir + "/x");
  EXPECT_EQ(r.code, 2);
  r = Gptc("prepare --tokenizer=nope --out=" + dir + "/x " + *data);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("nope"), std::string::npos) << r.out;
}

// GPT-2's tokens: the model's vocabulary is padded to 50304 as nanoGPT pads it, and sampling
// decodes (it never draws one of the 47 padding ids, which GPT-2's tokenizer cannot decode:
// near-uniform logits over 3000 tokens would draw one with probability 94%).
TEST(PrepareCli, Gpt2TokensPadTheVocabulary) {
  auto data = ResolveDataPath("");
  if (!data.ok()) GTEST_SKIP() << data.status().message();
  const std::string dir = ::testing::TempDir() + "/prepare_gpt2";
  std::filesystem::remove_all(dir);
  Result r = Gptc("prepare --tokenizer=gpt2 --out=" + dir + "/tokens " + *data);
  if (r.code != 0 && r.out.find("GPT-2's vocabulary") != std::string::npos) GTEST_SKIP() << r.out;
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("338025 tokens"), std::string::npos) << r.out;  // tiktoken's count
  r = Gptc(
      "train --config=tiny --steps=2 --eval-interval=2 --eval-batches=1 --sample-tokens=0 "
      "--data=" +
      dir + "/tokens --out-dir=" + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("vocab=50304"), std::string::npos) << r.out;
  r = Gptc("sample --out-dir=" + dir + "/out --tokens=3000 --temperature=5");
  EXPECT_EQ(r.code, 0) << r.out;
}

}  // namespace
}  // namespace gptc
