// The llama family through the command line. Resuming a bf16 run gives the losses of an
// uninterrupted one and bit-identical checkpoints. `gptc export` of a llama model writes
// Hugging Face's layout: model.safetensors under
// LlamaForCausalLM's keys and shapes, and config.json beside it; `--init-from` reads the same
// file back to the same model (equal val loss). PyTorch loads the folder (with transformers'
// LlamaForCausalLM where installed, else scripts/check_hf_llama.py's written-out Llama) and
// computes gptc's logits to 1e-5; skipped where PyTorch is missing.
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/checkpoint.h"
#include "runtime/safetensors.h"
#include "tests/run_process.h"
#include "tests/train_log.h"

namespace gptc {
namespace {

using testing::StepLosses;
using testing::ValLossAt;

std::string Path(const std::string& name) { return ::testing::TempDir() + name; }

testing::ProcessResult Gptc(const std::string& args) {
  return testing::RunCommand(std::string(GPTC_BINARY) + " " + args);
}

const std::string kCommon = " --config=tiny-llama --eval-batches=2 --sample-tokens=0 --cache-dir=" +
                            std::string(GPTC_BINARY_DIR) + "/test-kernel-cache";

// Trains tiny-llama a few steps into `dir` (flags added) and exports it to dir/hf.
testing::ProcessResult TrainAndExport(const std::string& dir, const std::string& flags = "") {
  std::filesystem::remove_all(dir);
  auto trained = Gptc("train --steps=8 --eval-interval=8 --out-dir=" + dir + kCommon + flags);
  EXPECT_EQ(trained.code, 0) << trained.out;
  auto exported = Gptc("export --out-dir=" + dir + " --to=" + dir + "/hf/model.safetensors");
  EXPECT_EQ(exported.code, 0) << exported.out;
  return trained;
}

TEST(LlamaCli, Bf16ResumeIsExact) {
  const std::string dir = Path("llama_resume");
  std::filesystem::remove_all(dir);
  const std::string flags = kCommon +
                            " --precision=bf16 --threads=2 --decay-steps=8 --warmup=2 "
                            "--log-interval=1 --eval-interval=4 --progress=false";
  auto whole = Gptc("train --steps=8 --out-dir=" + dir + "/whole" + flags);
  ASSERT_EQ(whole.code, 0) << whole.out;
  ASSERT_EQ(Gptc("train --steps=4 --out-dir=" + dir + "/split" + flags).code, 0);
  auto second = Gptc("train --steps=8 --resume --out-dir=" + dir + "/split" + flags);
  ASSERT_EQ(second.code, 0) << second.out;
  const auto a = StepLosses(whole.out), b = StepLosses(second.out);
  ASSERT_EQ(a.size(), 8u) << whole.out;
  ASSERT_EQ(b.size(), 4u) << second.out;
  for (const auto& [step, loss] : b) EXPECT_EQ(loss, a.at(step)) << "step " << step;
  auto ca = ReadCheckpoint(dir + "/whole/ckpt.bin"), cb = ReadCheckpoint(dir + "/split/ckpt.bin");
  ASSERT_TRUE(ca.ok() && cb.ok());
  ASSERT_EQ(ca->tensors.size(), cb->tensors.size());
  for (size_t i = 0; i < ca->tensors.size(); ++i)
    EXPECT_EQ(ca->tensors[i].data, cb->tensors[i].data) << ca->tensors[i].name;
}

TEST(LlamaExport, HuggingFacesLayoutAndBack) {
  const std::string dir = Path("llama_export");
  auto trained = TrainAndExport(dir);
  auto tensors = ReadSafetensors(dir + "/hf/model.safetensors");
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  // tiny-llama: 2 layers, 4 query and 2 key/value heads of 8, 32 wide, SwiGLU 64, vocab 65.
  std::map<std::string, ir::Shape> want = {{"model.embed_tokens.weight", {65, 32}},
                                           {"model.norm.weight", {32}},
                                           {"lm_head.weight", {65, 32}}};
  for (int l = 0; l < 2; ++l) {
    const std::string p = absl::StrCat("model.layers.", l, ".");
    want[p + "self_attn.q_proj.weight"] = {32, 32};
    want[p + "self_attn.k_proj.weight"] = {16, 32};
    want[p + "self_attn.v_proj.weight"] = {16, 32};
    want[p + "self_attn.o_proj.weight"] = {32, 32};
    want[p + "mlp.gate_proj.weight"] = {64, 32};
    want[p + "mlp.up_proj.weight"] = {64, 32};
    want[p + "mlp.down_proj.weight"] = {32, 64};
    want[p + "input_layernorm.weight"] = {32};
    want[p + "post_attention_layernorm.weight"] = {32};
  }
  std::map<std::string, ir::Shape> got;
  for (const NamedTensor& t : *tensors) got[t.name] = t.shape;
  EXPECT_EQ(got, want);

  std::ifstream f(dir + "/hf/config.json");
  ASSERT_TRUE(f.good()) << "no config.json beside the weights";
  const nlohmann::json c = nlohmann::json::parse(f);
  EXPECT_EQ(c["architectures"], nlohmann::json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(c["model_type"], "llama");
  EXPECT_EQ(c["hidden_size"], 32);
  EXPECT_EQ(c["intermediate_size"], 64);
  EXPECT_EQ(c["num_hidden_layers"], 2);
  EXPECT_EQ(c["num_attention_heads"], 4);
  EXPECT_EQ(c["num_key_value_heads"], 2);
  EXPECT_EQ(c["vocab_size"], 65);
  EXPECT_EQ(c["max_position_embeddings"], 32);
  EXPECT_DOUBLE_EQ(c["rms_norm_eps"].get<double>(), 1e-5);
  EXPECT_DOUBLE_EQ(c["rope_theta"].get<double>(), 10000);
  EXPECT_EQ(c["tie_word_embeddings"], false);
  EXPECT_EQ(c["hidden_act"], "silu");

  auto loaded =
      Gptc("train --steps=0 --out-dir=none --init-from=" + dir + "/hf/model.safetensors" + kCommon);
  ASSERT_EQ(loaded.code, 0) << loaded.out;
  EXPECT_NE(ValLossAt(trained.out, 8), "none") << trained.out;
  EXPECT_EQ(ValLossAt(loaded.out, 0), ValLossAt(trained.out, 8)) << loaded.out;
}

TEST(LlamaExport, TiedEmbeddingsAreOneTensorUnderBothNames) {
  const std::string dir = Path("llama_tied");
  TrainAndExport(dir, " --tie-embeddings");
  auto tensors = ReadSafetensors(dir + "/hf/model.safetensors");
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  std::map<std::string, std::vector<float>> by_name;
  for (const NamedTensor& t : *tensors) by_name[t.name] = t.data;
  ASSERT_TRUE(by_name.count("lm_head.weight") && by_name.count("model.embed_tokens.weight"));
  EXPECT_EQ(by_name["lm_head.weight"], by_name["model.embed_tokens.weight"]);
  std::ifstream f(dir + "/hf/config.json");
  EXPECT_EQ(nlohmann::json::parse(f)["tie_word_embeddings"], true);
}

TEST(LlamaExport, PyTorchLoadsTheExportAndAgrees) {
  if (testing::RunCommand("/usr/bin/python3 -c 'import torch, numpy'").code != 0)
    GTEST_SKIP() << "PyTorch is not installed for /usr/bin/python3, so neither transformers nor "
                    "the written-out Llama can load the export (Debian's python3-torch; "
                    "bash scripts/bench_vs_torch.sh installs it)";
  for (const char* flags : {"", " --tie-embeddings"}) {
    SCOPED_TRACE(flags);
    const std::string dir = Path("llama_torch");
    TrainAndExport(dir, flags);
    auto dump =
        Gptc("eval --out-dir=" + dir + " --batches=1 --dump-logits=" + dir + "/logits.json");
    ASSERT_EQ(dump.code, 0) << dump.out;
    auto check =
        testing::RunCommand("/usr/bin/python3 " + std::string(GPTC_SOURCE_DIR) +
                            "/scripts/check_hf_llama.py " + dir + "/hf " + dir + "/logits.json");
    EXPECT_EQ(check.code, 0) << check.out;
    EXPECT_NE(check.out.find("\nOK"), std::string::npos) << check.out;
    std::cout << check.out;
  }
}

}  // namespace
}  // namespace gptc
