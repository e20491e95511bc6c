// The `gptc` binary as a user runs it: help, IR output, and clear errors for bad input.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/verifier.h"
#include "nlohmann/json.hpp"
#include "tests/run_process.h"

namespace gptc {
namespace {

using Result = testing::ProcessResult;
Result Gptc(const std::string& args) {
  return testing::RunCommand(std::string(GPTC_BINARY) + " " + args);
}

TEST(Cli, Help) {
  Result r = Gptc("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("usage: gptc <command> [flags]"), std::string::npos) << r.out;
  Result ir_help = Gptc("ir --help");
  EXPECT_EQ(ir_help.code, 0);
  EXPECT_NE(ir_help.out.find("--config"), std::string::npos) << ir_help.out;
}

// `gptc bench --fusion --json`: Google Benchmark's JSON (its own reporter), a fused and an
// unfused entry per fused op kind (attention and the one AdamW node among them), and the
// copy bandwidths in the context. (What the times are is the benchmark's business, not a
// test's.)
TEST(Cli, FusionBenchWritesGoogleBenchmarkJson) {
  const std::string path = ::testing::TempDir() + "fusion.json";
  Result r = Gptc("bench --fusion --configs=tiny --runs=5 --json=" + path);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(path);
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto time_of = [&](const std::string& name) {
    const size_t at = json.find("\"name\": \"" + name + "\"");
    EXPECT_NE(at, std::string::npos) << name << " in " << json;
    const size_t t = json.find("\"real_time\": ", at);
    return at == std::string::npos || t == std::string::npos ? -1.0
                                                             : std::stod(json.substr(t + 13));
  };
  for (const char* op : {"causal_attention", "causal_attention_grad", "adamw", "add_layernorm"}) {
    SCOPED_TRACE(op);
    EXPECT_GT(time_of(absl::StrCat("BM_Fusion/tiny/", op, "/fused")), 0);
    EXPECT_GT(time_of(absl::StrCat("BM_Fusion/tiny/", op, "/unfused")), 0);
  }
  EXPECT_NE(json.find("\"executable\": \"gptc bench --fusion\""), std::string::npos);
  EXPECT_NE(json.find("\"copy_gbps_L1\": "), std::string::npos);
  EXPECT_NE(json.find("\"time_unit\": \"us\""), std::string::npos);
}

// `gptc bench --kernels=N`: at most N lines, costliest first, each call's fastest run never
// above the mean (printed rounded to the microsecond), and the fastest runs summed on the
// "quiet step" line; with N past the step's size,
// one per kernel call of the step; and the AdamW kernel's bytes (summed from its node's
// operand and result types) agree with the optimizer line's 28 bytes per parameter (counted
// from the parameters): two independent counts. A negative N is refused.
TEST(Cli, BenchListsTheCostliestKernels) {
  std::vector<double> ms;
  double adamw_mb = -1, best_sum = 0;
  auto run = [&](int n) {
    ms.clear();
    best_sum = 0;
    Result r =
        Gptc(absl::StrCat("bench --config=tiny --steps=2 --compile-time=false --kernels=", n));
    EXPECT_EQ(r.code, 0) << r.out;
    std::istringstream lines(r.out.substr(r.out.find("kernel (first result)")));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line) && !line.empty()) {
      std::istringstream f(line);
      std::string name, op;
      double t = 0, best = 0, mb = 0;
      f >> name >> op >> t >> best >> mb;
      EXPECT_FALSE(f.fail()) << line;
      EXPECT_GE(best, 0) << line;
      EXPECT_LE(best, t * 1.0001 + 0.0005) << line;  // the fastest call is at most the mean
      ms.push_back(t);
      best_sum += best;
      if (op == "adamw") adamw_mb = mb;
    }
    EXPECT_TRUE(std::is_sorted(ms.rbegin(), ms.rend())) << r.out;
    return r.out;
  };
  run(3);
  EXPECT_EQ(ms.size(), 3u);
  const std::string out = run(100000);
  const size_t calls = out.find(" kernel calls"), from = out.rfind("; ", calls);
  ASSERT_NE(calls, std::string::npos) << out;
  EXPECT_EQ(ms.size(), std::stoul(out.substr(from + 2, calls - from - 2))) << out;
  const size_t at = out.find("optimizer: one adamw kernel, ");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_NEAR(adamw_mb, 28 * std::stod(out.substr(at + 29)) / 1e6, 0.006) << out;
  // The quiet step: the fastest calls summed, as the listing's column adds up (each printed
  // to the microsecond).
  const size_t quiet = out.find("kernels' fastest calls: ");
  ASSERT_NE(quiet, std::string::npos) << out;
  EXPECT_NEAR(std::stod(out.substr(quiet + 24)), best_sum, 0.0005 * ms.size() + 0.01) << out;
  Result bad = Gptc("bench --config=tiny --kernels=-1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("--kernels must be 0 or more"), std::string::npos) << bad.out;
}

// `gptc bench --precision-compare`: both steps' medians and quiet steps (fastest calls
// summed), each ratio the quotient of the two numbers printed beside it; without
// AVX512_BF16 the mode is refused, naming the flag.
TEST(Cli, PrecisionCompareReportsMediansAndQuietSteps) {
  Result r = Gptc("bench --config=tiny --precision-compare --steps=3 --compile-time=false");
  if (r.code != 0 && r.out.find("AVX512_BF16") != std::string::npos)
    GTEST_SKIP() << "this CPU has no avx512_bf16: " << r.out;
  ASSERT_EQ(r.code, 0) << r.out;
  auto number_after = [&](const std::string& key) {
    const size_t at = r.out.find(key);
    EXPECT_NE(at, std::string::npos) << key << " in " << r.out;
    return at == std::string::npos ? -1.0 : std::stod(r.out.substr(at + key.size()));
  };
  const double fp32 = number_after("fp32 "), bf16 = number_after("bf16 "),
               ratio = number_after("-> bf16 is ");
  const double q32 = number_after("fastest calls): fp32 "), q16 = number_after("ms, bf16 "),
               qratio = number_after(" ms -> ");
  for (double v : {fp32, bf16, q32, q16}) EXPECT_GT(v, 0) << r.out;
  // The times are printed to 0.01 ms and the ratios to 0.01: as far apart as that rounding.
  auto tolerance = [](double a, double b) { return a / b * (0.005 / a + 0.005 / b) + 0.0051; };
  EXPECT_NEAR(ratio, fp32 / bf16, tolerance(fp32, bf16)) << r.out;
  EXPECT_NEAR(qratio, q32 / q16, tolerance(q32, q16)) << r.out;
}

// `gptc mem`: the JSON report's numbers agree with each other (planned between the bound
// and naive, fragmentation as defined), the SVG has its axes, title, peak and names, and a
// budget below batch 1 is an error that gives the bytes needed.
TEST(Cli, MemReportsThePlan) {
  Result r =
      Gptc("mem --config=tiny --json --budget=64M --svg=" + ::testing::TempDir() + "arena.svg");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  auto number = [&](const std::string& key) { return report.at(key).get<double>(); };
  const double naive = number("naive_bytes"), planned = number("planned_bytes"),
               bound = number("lower_bound_bytes");
  EXPECT_GT(bound, 0);
  EXPECT_LE(bound, planned);
  EXPECT_LE(planned, 1.05 * bound);
  EXPECT_LE(planned, 0.45 * naive);
  EXPECT_NEAR(number("fragmentation"), (planned - bound) / planned, 1e-6);
  EXPECT_GT(number("max_batch_size"), 4);  // tiny trains at batch 4 in far less than 64 MiB
  ASSERT_FALSE(report.at("peak_tensors").empty());
  EXPECT_TRUE(report["peak_tensors"][0].at("name").is_string());
  EXPECT_GT(report["eval"].at("planned_bytes").get<double>(), 0);
  std::ifstream in(::testing::TempDir() + "arena.svg");
  const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << svg.substr(0, 200);
  for (const char* part :
       {"execution order (node of the step)", "arena offset (MB)", "train step: arena ",
        "peak live ", ">peak ", "largest buffers", "<title>%"})
    EXPECT_NE(svg.find(part), std::string::npos) << part;
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");

  Result text = Gptc("mem --config=tiny --budget=64M");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("largest live there:"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("0 copy kernels"), std::string::npos) << text.out;

  Result small = Gptc("mem --config=tiny --budget=1K");
  EXPECT_EQ(small.code, 1);
  EXPECT_NE(
      small.out.find("--budget 1024 bytes (0.00 MiB) is too small: training even batch 1 needs "),
      std::string::npos)
      << small.out;
  EXPECT_EQ(Gptc("mem --budget=lots").code, 2);

  // --grad-accum: the sums are one more parameter-sized state; the arena is one micro-batch's.
  Result accum = Gptc("mem --config=tiny --json --budget=64M --grad-accum=4");
  ASSERT_EQ(accum.code, 0) << accum.out;
  const nlohmann::json with = nlohmann::json::parse(accum.out);
  const auto& p0 = report.at("persistent_bytes");
  const auto& p4 = with.at("persistent_bytes");
  EXPECT_EQ(p4.at("moments").get<int64_t>(),
            p0.at("moments").get<int64_t>() + p0.at("params").get<int64_t>());
  EXPECT_EQ(with.at("grad_accum").get<int>(), 4);
  EXPECT_NE(Gptc("mem --config=tiny --grad-accum=0").out.find("--grad-accum must be in 1..65536"),
            std::string::npos);
}

TEST(Cli, IrPrintsAGraphThatParsesAndVerifies) {
  Result r = Gptc("ir --config=tiny");
  ASSERT_EQ(r.code, 0) << r.out;
  auto g = ir::ParseGraph(r.out);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(ir::Verify(*g).ok());
  EXPECT_NE(r.out.find("graph train_step("), std::string::npos);
  EXPECT_NE(r.out.find("return %loss"), std::string::npos);
}

// --precision=bf16: the pass shows in the pipeline, its IR parses back, and a short training
// run of the compiled step learns (on a CPU with AVX512_BF16; elsewhere the flag is refused
// naming the feature).
TEST(Cli, Bf16PrecisionTrains) {
  Result ir = Gptc("ir --config=tiny --precision=bf16 --print-after=plan");
  if (ir.code != 0) {
    EXPECT_NE(ir.out.find("needs a CPU with AVX512_BF16"), std::string::npos) << ir.out;
    GTEST_SKIP() << "this CPU has no AVX512_BF16";
  }
  EXPECT_NE(ir.out.find("= bf16[96,32]        cast(%h.0.attn.c_attn.w)  dtype=\"bf16\""),
            std::string::npos)
      << ir.out;
  auto g = ir::ParseGraph(ir.out.substr(ir.out.find("graph ")));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(ir::Verify(*g).ok());
  const std::string out = ::testing::TempDir() + "bf16-run";
  Result train = Gptc(
      "train --config=tiny --precision=bf16 --steps=60 --eval-interval=60 "
      "--sample-tokens=0 --progress=false --cache-dir=" GPTC_BINARY_DIR
      "/test-kernel-cache --out-dir=" +
      out);
  ASSERT_EQ(train.code, 0) << train.out;
  const size_t at = train.out.find("step 60: train loss ");
  ASSERT_NE(at, std::string::npos) << train.out;
  // ln(65) = 4.17 at the start; 60 steps of the tiny model reach about 3.6.
  EXPECT_LT(std::stod(train.out.substr(at + 20)), 3.8) << train.out;
}

// --eval-interval=0: no estimate before the first step or between, one after the last.
TEST(Cli, EvalIntervalZeroEstimatesOnlyAtTheEnd) {
  Result train = Gptc(
      "train --config=tiny --steps=3 --eval-interval=0 --eval-batches=1 --log-interval=1 "
      "--sample-tokens=0 --progress=false --out-dir=none --cache-dir=" GPTC_BINARY_DIR
      "/test-kernel-cache");
  ASSERT_EQ(train.code, 0) << train.out;
  EXPECT_EQ(train.out.find("step 0: train loss"), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("step 3: train loss"), std::string::npos) << train.out;
  EXPECT_NE(Gptc("train --config=tiny --eval-interval=-1")
                .out.find("--eval-interval must be >= 0, got -1"),
            std::string::npos);
}

TEST(Cli, DotOutput) {
  const std::string path = ::testing::TempDir() + "tiny.dot";
  Result r = Gptc("ir --config=tiny --dot=" + path);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str().rfind("digraph \"train_step\" {", 0), 0u);
  EXPECT_NE(ss.str().find("softmax_xent"), std::string::npos);
}

TEST(Cli, FusionIsVisibleAndSwitchable) {
  // The IR after fuse shows each fused node with the ops it absorbed, and parses back.
  Result fused = Gptc("ir --config=tiny --print-after=fuse");
  ASSERT_EQ(fused.code, 0) << fused.out;
  EXPECT_NE(fused.out.find("add_layernorm(%tok, %pos, %h.0.ln_1.w, %h.0.ln_1.b)  eps=1e-05 {"),
            std::string::npos);
  EXPECT_NE(fused.out.find("yield %x, %h.0.ln_1.out"), std::string::npos);
  auto g = ir::ParseGraph(fused.out.substr(fused.out.find("graph ")));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(ir::Verify(*g).ok());
  // --explain-fusion says what was formed and what was refused, and why.
  Result explain = Gptc("ir --config=tiny --print-after=none --explain-fusion");
  ASSERT_EQ(explain.code, 0) << explain.out;
  EXPECT_NE(
      explain.out.find("fuse bias_gelu: %h.0.mlp.gelu <- bias_gelu_erf {broadcast, add, gelu_erf}"),
      std::string::npos)
      << explain.out;
  EXPECT_NE(explain.out.find("refuse add_layernorm at %d.h.1.res_2: "), std::string::npos)
      << explain.out;
  // --no-fuse leaves the pass out; --fuse=p picks patterns.
  Result none = Gptc("ir --config=tiny --print-after=all --no-fuse");
  ASSERT_EQ(none.code, 0) << none.out;
  EXPECT_EQ(none.out.find("IR after fuse"), std::string::npos);
  EXPECT_EQ(none.out.find("add_layernorm"), std::string::npos);
  Result some = Gptc("ir --config=tiny --print-after=fuse --fuse=bias_gelu");
  ASSERT_EQ(some.code, 0) << some.out;
  EXPECT_NE(some.out.find("bias_gelu_erf("), std::string::npos);
  EXPECT_EQ(some.out.find("add_layernorm("), std::string::npos);
}

TEST(Cli, BadInputIsAClearError) {
  struct Case {
    const char* args;
    int code;
    const char* message;
  } cases[] = {
      {"", 2, "usage: gptc <command> [flags]"},
      {"frobnicate", 2,
       "gptc: unknown command 'frobnicate'; commands are: ir opt train bench sample export mem "
       "eval prepare tokenizer version"},
      {"ir --steps=3", 2,
       "gptc ir: unknown flag --steps; accepted: --config, --arch, --block-size, --n-layer, "
       "--n-head, --n-embd, --batch-size, --layernorm-eps, --bias, --dropout, --gelu, --n-kv-head, "
       "--ffn-hidden, --rms-eps, --rope-theta, --tie-embeddings, --graph, --print-after, "
       "--fuse, --explain-fusion, --precision, --plan, --dump-dir, --dot, --stats, --help"},
      {"ir --config=tiny --arch=bigram", 2,
       "gptc: unknown arch 'bigram'; model families are: gpt, llama"},
      {"ir --arch=gpt --config=nope", 2, "gptc: unknown config 'nope'; presets are: "},
      {"ir --precision=fp16", 2, "--precision must be fp32 or bf16, got 'fp16'"},
      {"ir --config=huge", 2,
       "gptc: unknown config 'huge'; presets are: tiny, shakespeare-cpu, baby"},
      {"ir --n-head=x", 2, "gptc ir: --n-head expects an integer, got 'x'"},
      {"ir --config", 2, "gptc ir: --config needs a value"},
      {"ir --dropout=1", 2, "gptc: config 'tiny': dropout must be in [0, 1), got 1"},
      {"ir tiny", 2, "gptc ir: unexpected argument 'tiny'; flags are written --name=value"},
      {"ir --print-after=bogus", 2,
       "gptc: unknown pass 'bogus'; valid names: forward, autodiff, adamw, dce, cse, fuse, plan, "
       "all"},
      {"eval --data=/no/such.txt", 1,
       "gptc: data file '/no/such.txt' (from --data) is missing or empty"},
      {"eval --split=test", 2, "gptc: --split must be train or val, got 'test'"},
      {"ir --fuse=add_layernorm,conv", 2,
       "gptc: unknown fusion pattern 'conv'; the patterns are: softmax_xent, causal_attention, "
       "scale_mask_softmax, add_layernorm, bias_gelu, matmul_bias, adamw, elementwise, "
       "chunked_xent"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    Result r = Gptc(c.args);
    EXPECT_EQ(r.code, c.code) << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace gptc
