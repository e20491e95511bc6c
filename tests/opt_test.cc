// `gptc opt`: every form the printer writes reads back and prints identically, passes run from
// a file give what the built-in pipelines give, --run agrees between the interpreter and the
// JIT, and bad text is an error with its line and column.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "gtest/gtest.h"
#include "ir/read_file.h"
#include "tests/run_process.h"

namespace gptc {
namespace {

using Result = testing::ProcessResult;
Result Gptc(const std::string& args) {
  return testing::RunCommand(std::string(GPTC_BINARY) + " " + args);
}

// The whole file, or "" when it cannot be read.
std::string Slurp(const std::string& path) { return ir::ReadFile(path).value_or(""); }

std::string Dumps(const std::string& graph) {
  // Per test: ctest runs the tests of this file in parallel processes.
  const std::string dir = ::testing::TempDir() + "opt-" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
                          graph;
  std::filesystem::remove_all(dir);
  Result r = Gptc("ir --config=tiny --print-after=none --graph=" + graph + " --dump-dir=" + dir);
  EXPECT_EQ(r.code, 0) << r.out;
  return dir;
}

// Every pass's output of every pipeline (forward, autodiff, adamw, kv-decode, dce, cse, fuse
// with its bodies, plan with its placements and updates) prints back byte for byte.
TEST(Opt, EveryDumpPrintsBackIdentically) {
  int files = 0;
  for (const std::string graph : {"train", "eval", "prefill", "decode"}) {
    for (const auto& e : std::filesystem::directory_iterator(Dumps(graph))) {
      if (e.path().extension() != ".ir") continue;
      Result r = Gptc("opt " + e.path().string());
      ASSERT_EQ(r.code, 0) << e.path() << "\n" << r.out;
      EXPECT_EQ(r.out, Slurp(e.path().string())) << e.path();
      ++files;
    }
  }
  EXPECT_GE(files, 4 * 5);
}

TEST(Opt, PassesFromAFileGiveTheBuiltInPipeline) {
  const std::string dir = Dumps("train");
  Result r = Gptc("opt " + dir + "/00-forward.ir --passes=autodiff,adamw,dce,cse,fuse,plan");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, Slurp(dir + "/06-plan.ir"));
  // stdin, one pass at a time, and --print-after on the way.
  Result step =
      Gptc("opt - --passes=dce --print-after=dce --output=none < " + dir + "/02-adamw.ir");
  ASSERT_EQ(step.code, 0) << step.out;
  EXPECT_NE(step.out.find("// ----- IR after dce -----"), std::string::npos) << step.out;
}

TEST(Opt, RunGivesTheSameLossOnTheInterpreterAndTheJit) {
  const std::string plan = Dumps("train") + "/06-plan.ir";
  const std::string cache = " --cache-dir=" + std::string(GPTC_BINARY_DIR) + "/test-kernel-cache";
  Result a = Gptc("opt " + plan + " --output=none --run --seed=3");
  Result b = Gptc("opt " + plan + " --output=none --run --seed=3 --backend=jit" + cache);
  ASSERT_EQ(a.code, 0) << a.out;
  ASSERT_EQ(b.code, 0) << b.out;
  std::smatch ma, mb;
  const std::regex loss(R"(%loss: f32\[\] sum=([0-9.e+-]+))");
  ASSERT_TRUE(std::regex_search(a.out, ma, loss)) << a.out;
  ASSERT_TRUE(std::regex_search(b.out, mb, loss)) << b.out;
  EXPECT_NEAR(std::stod(ma[1]), std::stod(mb[1]), 1e-4 * std::fabs(std::stod(ma[1])));
  EXPECT_GT(std::stod(ma[1]), 0);
  Result c = Gptc("opt " + plan + " --output=none --run --seed=4");
  EXPECT_NE(a.out, c.out) << "the seed must change the inputs";
}

TEST(Opt, BadInputIsAClearError) {
  const std::string bad = ::testing::TempDir() + "bad.ir";
  std::ofstream(bad) << "graph g(%x: f32[2]) {\n  %y = f32[2] ad(%x, %x)\n  return %y\n}\n";
  Result parse = Gptc("opt " + bad);
  EXPECT_EQ(parse.code, 1);
  // The compilers' convention, at the start of a line, which editors and CI annotators parse.
  EXPECT_NE(("\n" + parse.out)
                .find("\n" + bad +
                      ":2:15: error: unknown op 'ad'\n  %y = f32[2] ad(%x, %x)\n"
                      "              ^"),
            std::string::npos)
      << parse.out;
  std::ofstream(bad) << "graph g(%x: f32[2]) {\n  %y = f32[3] add(%x, %x)\n  return %y\n}\n";
  Result verify = Gptc("opt " + bad);
  EXPECT_EQ(verify.code, 1);
  EXPECT_NE(("\n" + verify.out)
                .find("\n" + bad +
                      ":2:3: error: add: result %y is declared f32[3] but the op "
                      "gives f32[2]"),
            std::string::npos)
      << verify.out;
  Result missing = Gptc("opt /nonexistent.ir");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("cannot open IR file '/nonexistent.ir'"), std::string::npos)
      << missing.out;
  Result pass = Gptc("opt " + bad + " --passes=dce,frobnicate");
  EXPECT_EQ(pass.code, 2);
  EXPECT_NE(pass.out.find("unknown pass 'frobnicate'; passes are: autodiff, all-reduce, adamw"),
            std::string::npos)
      << pass.out;
  Result none = Gptc("opt");
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.out.find("give an IR file, or - to read standard input"), std::string::npos)
      << none.out;
  // A pass that cannot apply says why: the decode graph is derived from a forward graph only.
  const std::string decode = Dumps("decode") + "/05-plan.ir";
  Result wrong = Gptc("opt " + decode + " --passes=kv-decode");
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.out.find("kv-cache:"), std::string::npos) << wrong.out;
}

}  // namespace
}  // namespace gptc
