// Checkpoints: the file round-trips, every kind of damage is a clear error, a write that
// fails partway leaves the previous checkpoint intact, and a resumed run gives bit-identical
// losses to an uninterrupted one.
#include "runtime/checkpoint.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "frontend/nn/gpt_family.h"
#include "gtest/gtest.h"
#include "ir/read_file.h"
#include "nlohmann/json.hpp"
#include "runtime/model_state.h"
#include "runtime/text_dataset.h"
#include "tests/run_process.h"
#include "tests/train_log.h"

namespace gptc {
namespace {

using testing::StepLosses;

Checkpoint Sample(int64_t elems) {
  Checkpoint c;
  c.arch = "gpt";
  c.model_name = "tiny";
  c.config = nn::ToModelConfig(*PresetConfig("tiny"));
  c.vocabulary = std::string("\n !abc\xff", 7);
  c.step = 42;
  c.rng_state = "1 2 3 0 0";
  c.best_val_loss = 1.8857;
  c.flags = {{"lr", "0.001"}, {"data", "/some path/x.txt"}};
  Checkpoint::Tensor t{"h.0.attn.c_attn.w", {3, elems / 3}, {}};
  for (int64_t i = 0; i < elems; ++i) t.data.push_back(0.5f * static_cast<float>(i) - 3.25f);
  c.tensors = {t, {"m.wte", {2}, {1.5f, -2.0f}}};
  return c;
}

std::string Path(const std::string& name) { return ::testing::TempDir() + name; }

// The whole file, or "" when it cannot be read.
std::string Slurp(const std::string& p) { return ir::ReadFile(p).value_or(""); }

void Spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

TEST(Checkpoint, RoundTrip) {
  const Checkpoint c = Sample(30);
  ASSERT_TRUE(WriteCheckpoint(Path("rt.bin"), c).ok());
  auto r = ReadCheckpoint(Path("rt.bin"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tokenizer, "char");
  EXPECT_EQ(r->vocabulary, c.vocabulary);
  EXPECT_EQ(r->step, 42);
  EXPECT_EQ(r->rng_state, c.rng_state);
  EXPECT_EQ(r->best_val_loss, c.best_val_loss);
  EXPECT_EQ(r->flags, c.flags);
  EXPECT_EQ(r->arch, "gpt");
  EXPECT_EQ(r->model_name, "tiny");
  EXPECT_EQ(r->config, c.config);
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->tensors[0].name, "h.0.attn.c_attn.w");
  EXPECT_EQ(r->tensors[0].shape, (ir::Shape{3, 10}));
  EXPECT_EQ(r->tensors[0].data, c.tensors[0].data);
  EXPECT_FALSE(std::filesystem::exists(Path("rt.bin.tmp")));
}

// A run's directory reads as its ckpt.bin; a directory without one is a clear error, not a
// "truncated" file of 0 bytes.
TEST(Checkpoint, ADirectoryMeansItsLatestCheckpoint) {
  const std::string dir = Path("ckpt_dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto none = ReadCheckpoint(dir);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("is a directory without ckpt.bin"), std::string::npos)
      << none.status();
  ASSERT_TRUE(WriteCheckpoint(dir + "/ckpt.bin", Sample(30)).ok());
  auto r = ReadCheckpoint(dir);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->step, 42);
  EXPECT_EQ(r->tensors[0].data, Sample(30).tensors[0].data);
}

TEST(Checkpoint, DamageIsAClearError) {
  ASSERT_TRUE(WriteCheckpoint(Path("ok.bin"), Sample(30)).ok());
  const std::string good = Slurp(Path("ok.bin"));
  auto error = [&](const std::string& bytes) {
    Spit(Path("bad.bin"), bytes);
    auto r = ReadCheckpoint(Path("bad.bin"));
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  const std::string p = Path("bad.bin");
  EXPECT_EQ(error(good.substr(0, good.size() - 7)),
            "checkpoint " + p + " is truncated or padded: the header promises " +
                std::to_string(good.size() - 28) + " payload bytes, the file has " +
                std::to_string(good.size() - 35));
  std::string flipped = good;
  flipped[good.size() - 5] ^= 0x40;
  EXPECT_EQ(error(flipped), "checkpoint " + p + " is corrupt: its checksum does not match");
  EXPECT_EQ(error("PK\x03\x04 not a checkpoint at all, longer than a header"),
            "checkpoint " + p + " is not a gptc checkpoint (it does not start with GPTCCKPT)");
  EXPECT_EQ(error(good.substr(0, 12)),
            "checkpoint " + p + " is truncated: 12 bytes, shorter than the 28-byte header");
  std::string version = good;
  version[8] = 9;
  EXPECT_EQ(error(version), "checkpoint " + p + " has format version 9; this gptc reads 1 to 2");
  EXPECT_EQ(std::string(ReadCheckpoint(Path("missing.bin")).status().message()),
            "checkpoint " + Path("missing.bin") + " does not exist or cannot be read");
}

// The file with its metadata text replaced, under format `version`, with lengths and checksum
// made right: how a checkpoint written by an older gptc looks.
std::string Reframe(const std::string& file, uint32_t version, const std::string& meta) {
  uint64_t old_meta;
  std::memcpy(&old_meta, file.data() + 28, 8);
  std::string payload(8, '\0');
  const uint64_t n = meta.size();
  std::memcpy(payload.data(), &n, 8);
  payload += meta + file.substr(36 + old_meta);
  uint64_t sum = 1469598103934665603ull;  // FNV-1a 64, as the header promises
  for (unsigned char c : payload) sum = (sum ^ c) * 1099511628211ull;
  std::string out = file.substr(0, 8);
  const uint64_t bytes = payload.size();
  out.append(reinterpret_cast<const char*>(&version), 4);
  out.append(reinterpret_cast<const char*>(&bytes), 8);
  out.append(reinterpret_cast<const char*>(&sum), 8);
  return out + payload;
}

// Checkpoints of format 1 predate model families: GPT's fields at the top level. They read as
// arch gpt with the same config a version-2 checkpoint of that model records.
TEST(Checkpoint, Version1ReadsAsGpt) {
  ASSERT_TRUE(WriteCheckpoint(Path("v2.bin"), Sample(30)).ok());
  const std::string legacy =
      "name=tiny\nvocab=65\nblock_size=32\nn_layer=2\nn_head=2\nn_embd=32\nbatch_size=4\n"
      "layernorm_eps=1e-05\nbias=1\ndropout=0\nvocabulary=0a\nstep=7\nrng=31\n"
      "best_val_loss=2.5\n";
  Spit(Path("v1.bin"), Reframe(Slurp(Path("v2.bin")), 1, legacy));
  auto r = ReadCheckpoint(Path("v1.bin"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->arch, "gpt");
  EXPECT_EQ(r->model_name, "tiny");
  // A version-1 checkpoint predates the gelu key: the family's default (tanh, the only GELU
  // then) fills it when the model is made.
  ModelConfig want = nn::ToModelConfig(*PresetConfig("tiny"));
  want.erase("gelu");
  EXPECT_EQ(r->config, want);
  auto m = CheckpointModel(*r, "v1.bin");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->config.at("gelu"), "tanh");  // what it was trained with, not today's default
  EXPECT_EQ(r->step, 7);
  EXPECT_EQ(r->vocabulary, "\n");
  EXPECT_EQ(r->tokenizer, "char");  // unrecorded: the only tokenizer there was
  EXPECT_EQ(r->tensors.size(), 2u);
  // A version-2 file whose metadata lacks the arch is damaged, and says so.
  Spit(Path("noarch.bin"), Reframe(Slurp(Path("v2.bin")), 2, legacy));
  EXPECT_EQ(std::string(ReadCheckpoint(Path("noarch.bin")).status().message()),
            "checkpoint " + Path("noarch.bin") + ": metadata has no 'arch'");
}

// A checkpoint records its model's tokenizer by name; one naming a tokenizer gptc does not
// have is refused when the model is rebuilt from it, as is a dataset asked for one.
TEST(Checkpoint, RecordsItsTokenizer) {
  Checkpoint c = Sample(30);
  c.tokenizer = "no-such-bpe";
  ASSERT_TRUE(WriteCheckpoint(Path("tok.bin"), c).ok());
  auto r = ReadCheckpoint(Path("tok.bin"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tokenizer, "no-such-bpe");
  EXPECT_EQ(std::string(CheckpointModel(*r, "tok.bin").status().message()),
            "checkpoint tok.bin: no tokenizer called 'no-such-bpe' (gptc has: char, gpt2, bpe)");
  r->tokenizer = "char";
  auto m = CheckpointModel(*r, "tok.bin");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->tokenizer, "char");
  Spit(Path("text.txt"), "some text");
  EXPECT_EQ(std::string(TextDataset::Load(Path("text.txt"), "gpt9").status().message()),
            "no tokenizer called 'gpt9' (gptc has: char, gpt2, or a file from `gptc tokenizer "
            "train`)");
}

// A child process writes a checkpoint under a file-size limit smaller than the file: the
// write fails with a clear error and the checkpoint already there is untouched.
TEST(Checkpoint, AFailedWriteLeavesThePreviousOneIntact) {
  const std::string path = Path("limit.bin");
  ASSERT_TRUE(WriteCheckpoint(path, Sample(30)).ok());
  const std::string before = Slurp(path);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing us
    rlimit lim{64 * 1024, 64 * 1024};
    setrlimit(RLIMIT_FSIZE, &lim);
    absl::Status s = WriteCheckpoint(path, Sample(300000));  // ~1.2 MB
    const bool clear =
        !s.ok() &&
        std::string(s.message()).find("the previous checkpoint " + path + " is untouched") !=
            std::string::npos;
    _exit(clear ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the failed write did not report a clear error";
  EXPECT_EQ(Slurp(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_TRUE(ReadCheckpoint(path).ok());
}

using Result = testing::ProcessResult;
Result Gptc(const std::string& args) {
  return testing::RunCommand(std::string(GPTC_BINARY) + " " + args);
}

// "step 9/16 | loss 4.1234 | ..." -> {9: "4.1234"}
// 16 steps in one run, and 8 steps then --resume to 16, with dropout (same seeds, thread count and
// schedule): the losses of steps 9-16 are the same to the last printed digit, and the final
// checkpoints hold bit-identical parameters and moments.
TEST(Checkpoint, ResumeIsExact) {
  const std::string dir = Path("resume");
  std::filesystem::remove_all(dir);
  const std::string common =
      " --config=tiny --dropout=0.1 --threads=2 --decay-steps=16 --warmup=4 --log-interval=1 "
      "--eval-interval=8 --eval-batches=2 --sample-tokens=0 --cache-dir=" +
      std::string(GPTC_BINARY_DIR) + "/test-kernel-cache";
  Result whole = Gptc("train --steps=16 --out-dir=" + dir + "/whole" + common);
  ASSERT_EQ(whole.code, 0) << whole.out;
  Result first = Gptc("train --steps=8 --out-dir=" + dir + "/split" + common);
  ASSERT_EQ(first.code, 0) << first.out;
  Result second = Gptc("train --steps=16 --resume --out-dir=" + dir + "/split" + common);
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_NE(second.out.find("resumed from " + dir + "/split/ckpt.bin at step 8"), std::string::npos)
      << second.out;
  const auto a = StepLosses(whole.out), b = StepLosses(second.out);
  ASSERT_EQ(a.size(), 16u);
  ASSERT_EQ(b.size(), 8u);
  for (const auto& [step, loss] : b) EXPECT_EQ(loss, a.at(step)) << "step " << step;
  // metrics.jsonl: every logged step's loss (the resumed run appends), the same in both runs
  // and the same as the printed line to its 4 decimals.
  auto metric_losses = [](const std::string& text) {
    std::map<int, double> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.contains("loss")) out[j["step"].get<int>()] = j["loss"].get<double>();
    }
    return out;
  };
  const auto ma = metric_losses(Slurp(dir + "/whole/metrics.jsonl"));
  const auto mb = metric_losses(Slurp(dir + "/split/metrics.jsonl"));
  ASSERT_EQ(ma.size(), 16u);
  EXPECT_EQ(ma, mb);
  for (const auto& [step, loss] : ma)
    EXPECT_NEAR(loss, std::stod(a.at(step)), 0.5e-4) << "step " << step;
  EXPECT_NE(Slurp(dir + "/whole/metrics.jsonl").find("{\"step\":16,\"train_loss\":"),
            std::string::npos);

  auto ca = ReadCheckpoint(dir + "/whole/ckpt.bin"), cb = ReadCheckpoint(dir + "/split/ckpt.bin");
  ASSERT_TRUE(ca.ok() && cb.ok());
  EXPECT_EQ(ca->step, 16);
  EXPECT_EQ(cb->step, 16);
  ASSERT_EQ(ca->tensors.size(), cb->tensors.size());
  for (size_t i = 0; i < ca->tensors.size(); ++i)
    EXPECT_EQ(ca->tensors[i].data, cb->tensors[i].data) << ca->tensors[i].name;

  // The checkpoint samples: the prompt first, then 40 characters, the same for the same seed.
  const std::string cache = " --cache-dir=" + std::string(GPTC_BINARY_DIR) + "/test-kernel-cache";
  Result s1 =
      Gptc("sample --out-dir=" + dir + "/whole --prompt=ROMEO: --tokens=40 --seed=5" + cache);
  Result s2 =
      Gptc("sample --out-dir=" + dir + "/whole --prompt=ROMEO: --tokens=40 --seed=5" + cache);
  Result s3 =
      Gptc("sample --out-dir=" + dir + "/whole --prompt=ROMEO: --tokens=40 --seed=6" + cache);
  ASSERT_EQ(s1.code, 0) << s1.out;
  EXPECT_EQ(s1.out.rfind("ROMEO:", 0), 0u) << s1.out;
  EXPECT_EQ(s1.out.size(),
            std::string("ROMEO:").size() + 40 + std::string("\n---------------\n").size())
      << s1.out;
  EXPECT_EQ(s1.out, s2.out);
  EXPECT_NE(s1.out, s3.out);
  Result bad_prompt = Gptc("sample --out-dir=" + dir + "/whole --prompt='{x}'" + cache);
  EXPECT_EQ(bad_prompt.code, 1);
  EXPECT_NE(
      bad_prompt.out.find("--prompt: tokenizer: byte 0x7b at position 0 is not in the vocabulary"),
      std::string::npos)
      << bad_prompt.out;

  // The checkpoint evaluates on the compiled backend.
  Result eval = Gptc("eval --out-dir=" + dir + "/whole --batches=2");
  EXPECT_EQ(eval.code, 0) << eval.out;
  EXPECT_NE(eval.out.find("(step 16, tiny): val loss "), std::string::npos) << eval.out;
}

TEST(Checkpoint, BadInputIsAClearError) {
  const std::string dir = Path("bad_input");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string common =
      " --config=tiny --steps=4 --eval-interval=4 --eval-batches=1 --sample-tokens=0";
  Result nothing = Gptc("train --resume --out-dir=" + dir + "/empty" + common);
  EXPECT_EQ(nothing.code, 1);
  EXPECT_NE(nothing.out.find("--resume: there is no checkpoint " + dir +
                             "/empty/ckpt.bin to resume from"),
            std::string::npos)
      << nothing.out;
  Spit(dir + "/file", "x");
  Result unwritable = Gptc("train --out-dir=" + dir + "/file/sub" + common);
  EXPECT_EQ(unwritable.code, 1);
  EXPECT_NE(unwritable.out.find("--out-dir " + dir + "/file/sub cannot be created"),
            std::string::npos)
      << unwritable.out;
  ASSERT_EQ(Gptc("train --out-dir=" + dir + "/run" + common).code, 0);
  Result other = Gptc("train --resume --n-layer=3 --out-dir=" + dir + "/run" + common);
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.out.find("checkpoint " + dir + "/run/ckpt.bin has n_layer=2, the run asks for 3"),
            std::string::npos)
      << other.out;
  Result no_bias = Gptc("train --resume --no-bias --out-dir=" + dir + "/run" + common);
  EXPECT_EQ(no_bias.code, 1);
  EXPECT_NE(
      no_bias.out.find("checkpoint " + dir + "/run/ckpt.bin has bias=true, the run asks for false"),
      std::string::npos)
      << no_bias.out;
  std::string bytes = Slurp(dir + "/run/ckpt.bin");
  const std::string saved = bytes;
  bytes.resize(bytes.size() / 2);
  Spit(dir + "/run/ckpt.bin", bytes);
  Result truncated = Gptc("eval --out-dir=" + dir + "/run");
  EXPECT_EQ(truncated.code, 1);
  EXPECT_NE(truncated.out.find("is truncated or padded"), std::string::npos) << truncated.out;
  Result resume_truncated = Gptc("train --resume --out-dir=" + dir + "/run" + common);
  EXPECT_EQ(resume_truncated.code, 1);
  EXPECT_EQ(Slurp(dir + "/run/ckpt.bin"), bytes)
      << "a failed resume must not overwrite the checkpoint";
}

}  // namespace
}  // namespace gptc
