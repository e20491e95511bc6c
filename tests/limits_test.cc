// Limits: input that is too large, malformed or absurd is a clear error in bounded time (the
// ctest timeout bounds it), never a crash, a hang or an allocation attempt.
#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "tests/run_process.h"

namespace gptc {
namespace {

using Result = testing::ProcessResult;
Result Gptc(const std::string& args) {
  return testing::RunCommand(std::string(GPTC_BINARY) + " " + args);
}

void ExpectParseError(const std::string& text, const std::string& message) {
  auto g = ir::ParseGraph(text);
  ASSERT_FALSE(g.ok()) << "parsed: " << text.substr(0, 80);
  EXPECT_NE(g.status().message().find(message), std::string::npos) << g.status();
}

TEST(Limits, AbsurdDimensionsAreAParseError) {
  ExpectParseError("graph g(%x: f32[99999999999]) {\n  return %x\n}",
                   "<input>:1:17: error: a tensor of more than 2147483647 elements");
  // The product is checked axis by axis: it never overflows int64.
  ExpectParseError(
      "graph g(%x: f32[2, 3]) {\n  %y = f32[65536,65536,65536,65536] neg(%x)\n  return %y\n}",
      "a tensor of more than 2147483647 elements");
  ExpectParseError("graph g(%x: f32[99999999999999999999]) {\n  return %x\n}", "is out of range");
  // A small axis, then one whose product with it overflows int64 (found by ir_text_fuzz).
  ExpectParseError("graph g(%x: f32[65536, 4611686018427387904]) {\n  return %x\n}",
                   "a tensor of more than 2147483647 elements");
}

// Attributes are not bounded by the parser: a reshape to a shape whose element count
// overflows int64 is a verifier error, not a product that wraps to 4 and matches.
TEST(Limits, AReshapeToAnAbsurdShapeIsAVerifierError) {
  auto g = ir::ParseGraph(
      "graph g(%x: f32[4]) {\n"
      "  %y = f32[4] reshape(%x) shape=[4,4611686018427387905]\n"
      "  return %y\n}");
  ASSERT_TRUE(g.ok()) << g.status();
  const absl::Status s = ir::Verify(*g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot reshape"), std::string::npos) << s;
  // An axis near INT64_MAX is out of range, not a sum that wraps.
  g = ir::ParseGraph(
      "graph g(%i: i32[2], %dy: f32[2,3]) {\n"
      "  %dx = f32[4,3] gather_grad(%i, %dy) axis=9223372036854775807 size=4\n"
      "  return %dx\n}");
  ASSERT_TRUE(g.ok()) << g.status();
  const absl::Status s2 = ir::Verify(*g);
  ASSERT_FALSE(s2.ok());
  EXPECT_NE(s2.message().find("at axis 9223372036854775807"), std::string::npos) << s2;
}

TEST(Limits, ANulByteIsAnErrorAtItsPlace) {
  std::string text = "graph g(%x: f32[2]) {\n  %y = f32[2] neg(%x)\n  return %y\n}";
  text[text.find("neg") + 1] = '\0';
  ExpectParseError(text, "<input>:2:16: error: unexpected byte 0x00");
}

// A million nodes parse, verify and print back in linear time (the graph is a chain, the
// worst case for any recursive walk).
TEST(Limits, AMillionNodeGraphIsHandledWithoutRecursionLimits) {
  constexpr int kNodes = 1000000;
  std::string text = "graph big(%v0: f32[1]) {\n";
  text.reserve(32 * kNodes);
  for (int i = 1; i <= kNodes; ++i)
    text += "  %v" + std::to_string(i) + " = f32[1] neg(%v" + std::to_string(i - 1) + ")\n";
  text += "  return %v" + std::to_string(kNodes) + "\n}\n";
  auto g = ir::ParseGraph(text);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->num_nodes(), kNodes + 1);
  EXPECT_TRUE(ir::Verify(*g).ok());
  EXPECT_EQ(ir::PrintGraph(*g).size() > text.size() / 2, true);
}

TEST(Limits, DataShorterThanAWindowIsRefusedBeforeCompiling) {
  const std::string path = ::testing::TempDir() + "short.txt";
  std::ofstream(path) << std::string(300, 'a') + "bcdefgh\n";
  Result r = Gptc("train --config=tiny --out-dir=none --data=" + path);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("its val split (the last 10%) has 31 characters, fewer than one window of "
                       "block_size + 1 = 33"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("backend jit"), std::string::npos) << "nothing may be compiled first";
}

TEST(Limits, AModelTooBigForMemoryIsRefusedBeforeAllocating) {
  Result r = Gptc("train --n-embd=1048576 --n-head=4 --out-dir=none");
  EXPECT_EQ(r.code, 1) << r.out;
  // The planned bytes: parameters, gradients and moments alone are 16 bytes for each of the
  // 12 n_embd^2 weights of each of the 4 layers, so the figure must exceed that.
  const std::string needs = "the model 'shakespeare-cpu' needs ";
  const size_t at = r.out.find(needs);
  ASSERT_NE(at, std::string::npos) << r.out;
  const double bytes = std::strtod(r.out.c_str() + at + needs.size(), nullptr);
  EXPECT_GT(bytes, 16.0 * 12 * 4 * 1048576.0 * 1048576.0) << r.out;
  EXPECT_LT(bytes, 2 * 16.0 * 12 * 4 * 1048576.0 * 1048576.0) << r.out;
  EXPECT_NE(r.out.find("available; make the model or --batch-size smaller"), std::string::npos)
      << r.out;
  Result interp = Gptc("train --backend=interp --n-embd=1048576 --n-head=4 --out-dir=none");
  EXPECT_EQ(interp.code, 1) << interp.out;
  EXPECT_NE(interp.out.find("on the interpreter needs"), std::string::npos) << interp.out;
}

TEST(Limits, FlagsAreCheckedBeforeAnythingIsCompiled) {
  for (const auto& [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {"--steps=-5", "gptc train: --steps must be >= 0, got -5"},
           {"--lr=0", "gptc train: --lr must be in (0, inf), got 0"},
           {"--beta2=1", "gptc train: --beta2 must be in [0, 1), got 1"},
           {"--eval-batches=0", "gptc train: --eval-batches must be >= 1, got 0"},
           {"--grad-accum=0", "gptc train: --grad-accum must be >= 1, got 0"},
           {"--grad-accum=100000", "gptc train: --grad-accum must be <= 65536, got 100000"},
           {"--temperature=-1", "gptc train: --temperature must be in (0, inf), got -1"}}) {
    Result r = Gptc("train --config=tiny --out-dir=none " + flags);
    EXPECT_EQ(r.code, 2) << flags << ": " << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << flags << ": " << r.out;
    EXPECT_EQ(r.out.find("config tiny"), std::string::npos)
        << flags << ": nothing may be loaded first";
  }
}

}  // namespace
}  // namespace gptc
