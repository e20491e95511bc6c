// Golden-text tests: for every tests/testdata/<pass>/<case>.in.ir, parse and verify it, run
// the pass, verify the result and compare its printed text with <case>.golden.ir.
// GPTC_UPDATE_GOLDENS=1 rewrites the goldens instead (then read the diff).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/adamw.h"
#include "passes/autodiff.h"
#include "passes/cse.h"
#include "passes/dce.h"
#include "passes/fuse.h"
#include "passes/plan.h"
#include "tests/fixture.h"

namespace gptc {
namespace {

namespace fs = std::filesystem;
using PassFn = std::function<absl::StatusOr<ir::Graph>(const ir::Graph&)>;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `always_changes`: the pass adds something to every graph (plan places every value), so
// its "nothing to do" case is a graph with nothing to share rather than an unchanged one.
void RunGoldens(const std::string& pass, const PassFn& fn, bool always_changes = false) {
  const fs::path dir = testing::TestDataPath(pass);
  const bool update = std::getenv("GPTC_UPDATE_GOLDENS") != nullptr;
  int cases = 0, unchanged = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (file.size() < 6 || file.substr(file.size() - 6) != ".in.ir") continue;
    SCOPED_TRACE(pass + "/" + file);
    ++cases;
    auto in = ir::ParseGraph(ReadFile(entry.path()));
    ASSERT_TRUE(in.ok()) << in.status();
    ASSERT_TRUE(ir::Verify(*in).ok()) << ir::Verify(*in);
    auto out = fn(*in);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE(ir::Verify(*out).ok()) << ir::Verify(*out);
    const std::string text = ir::PrintGraph(*out);
    if (text == ir::PrintGraph(*in)) ++unchanged;
    const fs::path golden = dir / (file.substr(0, file.size() - 6) + ".golden.ir");
    if (update) {
      std::ofstream(golden) << text;
      continue;
    }
    ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with GPTC_UPDATE_GOLDENS=1";
    EXPECT_EQ(text, ReadFile(golden));
    // The golden text is itself valid IR.
    auto reparsed = ir::ParseGraph(text);
    ASSERT_TRUE(reparsed.ok()) << reparsed.status();
    EXPECT_TRUE(ir::Verify(*reparsed).ok());
  }
  EXPECT_GE(cases, 2) << "every pass needs a changing case and a no-change case";
  if (!always_changes) {
    EXPECT_GE(unchanged, 1) << "no case where " << pass << " changes nothing";
  }
  EXPECT_LT(unchanged, cases) << "no case where " << pass << " changes anything";
}

TEST(PassGolden, Autodiff) {
  RunGoldens("autodiff", [](const ir::Graph& g) { return passes::Autodiff(g); });
}
TEST(PassGolden, AdamW) {
  RunGoldens("adamw", [](const ir::Graph& g) { return passes::AdamW(g); });
}
TEST(PassGolden, Dce) { RunGoldens("dce", passes::DeadCodeElimination); }
TEST(PassGolden, Cse) { RunGoldens("cse", passes::CommonSubexpressionElimination); }
TEST(PassGolden, Plan) {
  RunGoldens(
      "plan", [](const ir::Graph& g) { return passes::Plan(g); }, true);
}
TEST(PassGolden, Fuse) {
  RunGoldens("fuse", [](const ir::Graph& g) { return passes::Fuse(g); });
}

}  // namespace
}  // namespace gptc
