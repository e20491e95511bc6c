// safetensors in and out: the file round-trips, every lie of a damaged header is a clear error
// naming the tensor or byte range, and `gptc export` then `gptc train --init-from` gives back
// exactly the exported model (the same validation loss to the printed digit).
#include "runtime/safetensors.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "frontend/nn/gpt_family.h"
#include "gtest/gtest.h"
#include "ir/read_file.h"
#include "tests/run_process.h"
#include "tests/train_log.h"

namespace gptc {
namespace {

using testing::ValLossAt;

std::string Path(const std::string& name) { return ::testing::TempDir() + name; }

// The whole file, or "" when it cannot be read.
std::string Slurp(const std::string& p) { return ir::ReadFile(p).value_or(""); }

// A file with this header text and `data_bytes` bytes of data.
std::string Make(const std::string& header, size_t data_bytes) {
  std::string f(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(f.data(), &n, 8);
  return f + header + std::string(data_bytes, '\0');
}

std::string Error(const std::string& bytes) {
  std::ofstream(Path("bad.safetensors"), std::ios::binary) << bytes;
  auto r = ReadSafetensors(Path("bad.safetensors"));
  return r.ok() ? "ok" : std::string(r.status().message());
}

TEST(Safetensors, RoundTripAndNames) {
  const std::vector<NamedTensor> in = {{"a.weight", {2, 3}, {1, 2, 3, 4, 5, 6}},
                                       {"b", {1}, {-0.5f}}};
  ASSERT_TRUE(WriteSafetensors(Path("rt.safetensors"), in, {{"format", "pt"}}).ok());
  auto out = ReadSafetensors(Path("rt.safetensors"));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].name, "a.weight");
  EXPECT_EQ((*out)[0].shape, (ir::Shape{2, 3}));
  EXPECT_EQ((*out)[0].data, in[0].data);
  EXPECT_EQ((*out)[1].data, in[1].data);
  const std::string f = Slurp(Path("rt.safetensors"));
  uint64_t n;
  std::memcpy(&n, f.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "the data section starts 8-byte aligned";
  // Metadata that is not UTF-8 is written (replaced), not an exception.
  ASSERT_TRUE(WriteSafetensors(Path("rt2.safetensors"), in, {{"note", "caf\xe9"}}).ok());
  EXPECT_TRUE(ReadSafetensors(Path("rt2.safetensors")).ok());
  EXPECT_EQ(nn::NanoGptName("h.3.attn.c_attn.w"), "transformer.h.3.attn.c_attn.weight");
  EXPECT_EQ(nn::NanoGptName("h.0.ln_1.b"), "transformer.h.0.ln_1.bias");
  EXPECT_EQ(nn::NanoGptName("wte"), "transformer.wte.weight");
}

TEST(Safetensors, DamageIsAClearError) {
  const std::string p = Path("bad.safetensors");
  EXPECT_EQ(Error("abc"), "safetensors file " + p + " is shorter than its 8-byte header length");
  EXPECT_EQ(
      Error(Make("{}", 0).substr(0, 9)),
      "safetensors file " + p + ": the header claims 2 bytes, the file has 1 after the length");
  EXPECT_EQ(Error(Make(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4)),
            "safetensors file " + p + ": tensor 'x' has dtype F16; gptc reads F32");
  EXPECT_EQ(Error(Make(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4)),
            "safetensors file " + p +
                ": tensor 'x' claims bytes [0, 8) of a data section of 4 bytes (the file is "
                "truncated or the header lies)");
  EXPECT_EQ(
      Error(Make(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
      "safetensors file " + p + ": tensor 'x' has shape [3] (12 bytes) but data_offsets [0, 8)");
  EXPECT_EQ(Error(Make(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                       12)),
            "safetensors file " + p + ": data ranges [0, 8) and [4, 12) overlap");
  EXPECT_EQ(Error(Make(R"({"x":{"dtype":"F32","shape":[2] "data_offsets":[0,8]}})", 8)),
            "safetensors file " + p +
                ": header byte 53 is not JSON (syntax error while parsing object - unexpected "
                "string literal; expected '}')");
  EXPECT_EQ(Error(Make(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                       8)),
            "safetensors file " + p + ": tensor 'x' appears twice");
  EXPECT_EQ(Error(Make(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)),
            "safetensors file " + p + ": tensor 'x' has a malformed shape");
  EXPECT_EQ(Error(Make(R"([1, 2])", 8)),
            "safetensors file " + p + ": the header is not a JSON object");
  EXPECT_EQ(Error(Make(R"({"x":{"dtype":"F32","shape":[2e416],"data_offsets":[0,8]}})", 8)),
            "safetensors file " + p +
                ": the header is not JSON gptc can read (number overflow parsing '2e416')");
}

testing::ProcessResult Gptc(const std::string& args) {
  return testing::RunCommand(std::string(GPTC_BINARY) + " " + args);
}

TEST(Safetensors, ExportThenInitFromGivesTheSameModel) {
  const std::string dir = Path("st_run");
  std::filesystem::remove_all(dir);
  const std::string common = " --config=tiny --eval-batches=2 --sample-tokens=0 --cache-dir=" +
                             std::string(GPTC_BINARY_DIR) + "/test-kernel-cache";
  auto trained = Gptc("train --steps=12 --eval-interval=12 --out-dir=" + dir + common);
  ASSERT_EQ(trained.code, 0) << trained.out;
  const std::string file = dir + "/model.safetensors";
  auto exported = Gptc("export --out-dir=" + dir + " --to=" + file);
  ASSERT_EQ(exported.code, 0) << exported.out;
  auto loaded = Gptc("train --steps=0 --out-dir=none --init-from=" + file + common);
  ASSERT_EQ(loaded.code, 0) << loaded.out;
  EXPECT_NE(ValLossAt(trained.out, 12), "none") << trained.out;
  EXPECT_EQ(ValLossAt(loaded.out, 0), ValLossAt(trained.out, 12)) << loaded.out;

  // Another model, or a file without a tensor, is refused before anything is compiled.
  auto other = Gptc("train --steps=0 --out-dir=none --n-embd=64 --init-from=" + file + common);
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(
      other.out.find("tensor 'transformer.wte.weight' is [65,32], the model's %wte is [65,64]"),
      std::string::npos)
      << other.out;
  ASSERT_TRUE(WriteSafetensors(dir + "/partial.safetensors",
                               {{"transformer.wte.weight", {65, 32}, std::vector<float>(2080)}})
                  .ok());
  auto partial =
      Gptc("train --steps=0 --out-dir=none --init-from=" + dir + "/partial.safetensors" + common);
  EXPECT_EQ(partial.code, 1);
  EXPECT_NE(partial.out.find("has no tensor 'transformer.wpe.weight' (gptc's %wpe)"),
            std::string::npos)
      << partial.out;
}

// nanoGPT's own GPT class (written out in scripts/check_nanogpt_load.py) loads the exported
// file with load_state_dict and computes gptc's logits to 1e-5. Needs Debian's python3-torch,
// which only the comparison scripts install: skipped where it is missing.
void ExpectNanoGptAgrees(const std::string& gelu) {
  if (testing::RunCommand("/usr/bin/python3 -c 'import torch, numpy'").code != 0)
    GTEST_SKIP() << "python3-torch is not installed (bash scripts/bench_vs_torch.sh installs it)";
  const std::string dir = Path("st_nano_" + gelu);
  std::filesystem::remove_all(dir);
  const std::string cache = " --cache-dir=" + std::string(GPTC_BINARY_DIR) + "/test-kernel-cache";
  ASSERT_EQ(Gptc("train --config=tiny --no-bias --gelu=" + gelu +
                 " --steps=20 --eval-interval=20 --eval-batches=1 --sample-tokens=0 --out-dir=" +
                 dir + cache)
                .code,
            0);
  ASSERT_EQ(Gptc("export --out-dir=" + dir + " --to=" + dir + "/m.safetensors").code, 0);
  auto dump = Gptc("eval --out-dir=" + dir + " --batches=1 --dump-logits=" + dir + "/logits.json");
  ASSERT_EQ(dump.code, 0) << dump.out;
  auto check = testing::RunCommand("/usr/bin/python3 " + std::string(GPTC_SOURCE_DIR) +
                                   "/scripts/check_nanogpt_load.py " + dir + "/m.safetensors " +
                                   dir + "/logits.json");
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("\nOK"), std::string::npos) << check.out;
}

TEST(Safetensors, NanoGptLoadsTheExportAndAgrees) { ExpectNanoGptAgrees("tanh"); }

// --gelu=erf is nanoGPT's own model as it is (nn.GELU(), the exact GELU): no GELU swapped in.
TEST(Safetensors, NanoGptWithItsExactGeluAgreesWithGeluErf) { ExpectNanoGptAgrees("erf"); }

}  // namespace
}  // namespace gptc
