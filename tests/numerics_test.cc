// Numeric guards: training stops on a non-finite loss or gradient norm naming the step, and
// --check-numerics names the first node whose output is not finite, with its IR line.
#include <cmath>

#include "gtest/gtest.h"
#include "ir/parser.h"
#include "jit_test_util.h"
#include "runtime/executable.h"
#include "runtime/jit_backend.h"
#include "tests/run_process.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

TEST(Numerics, CheckNamesTheFirstNodeThatMadeANaN) {
  auto g = ir::ParseGraph(R"(graph g(%x: f32[2,3]) {
  %a = f32[2,3] exp(%x)
  %y = f32[2,3] log(%x)
  %z = f32[2,3] add(%y, %a)
  return %z
})");
  ASSERT_TRUE(g.ok()) << g.status();
  StateStore store;
  auto exe = Executable::Create(*g, testing::SharedCompiler(), store);
  ASSERT_TRUE(exe.ok()) << exe.status();
  ASSERT_TRUE((*exe)->SetInput("x", ir::Literal(ir::F32({2, 3}), {1, 2, 3, 4, -5, 6})).ok());
  ASSERT_TRUE((*exe)->Run().ok()) << "unchecked, a NaN is just a value";
  (*exe)->EnableNumericChecks(true);
  auto r = (*exe)->Run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message())
                .rfind("check-numerics: %y f32[2,3] holds nan at flat index 4, first made by: %y = "
                       "f32[2,3] log(%x)",
                       0),
            0u)
      << r.status();
  // A non-finite value given to the graph is named as such, before any kernel runs.
  ASSERT_TRUE((*exe)->SetInput("x", ir::Literal(ir::F32({2, 3}), {1, INFINITY, 3, 4, 5, 6})).ok());
  r = (*exe)->Run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("%x f32[2,3] holds inf at flat index 1 before the step"),
            std::string::npos)
      << r.status();
}

// A NaN put into one weight: the plain step stops on the loss; the checked one names the weight.
TEST(Numerics, TrainingStopsOnANonFiniteLossNamingTheStep) {
  codegen::CompilerOptions co;
  co.cache_dir = testing::TestCacheDir();
  for (bool checked : {false, true}) {
    auto jit = JitBackend::Create(testing::GptModelOf(*PresetConfig("tiny")), 1, {}, co, {JitBackend::Step::kTrain});
    ASSERT_TRUE(jit.ok()) << jit.status();
    (*jit)->EnableNumericChecks(checked);
    auto w = (*jit)->store().Get("h.1.mlp.c_fc.w");
    ASSERT_TRUE(w.ok());
    w->data[17] = NAN;
    ASSERT_TRUE((*jit)->SetState("h.1.mlp.c_fc.w", *w).ok());
    Batch b{ir::Literal(ir::I32({4, 32})), ir::Literal(ir::I32({4, 32}))};
    auto loss = (*jit)->TrainStep(b, 1e-3, 7);
    ASSERT_FALSE(loss.ok());
    const std::string want =
        checked ? "check-numerics: %h.1.mlp.c_fc.w f32[128,32] holds nan at flat index 17 "
                  "before the step"
                : "train: the loss is NaN at step 7; stopping";
    EXPECT_NE(loss.status().message().find(want), std::string::npos) << loss.status();
  }
}

TEST(Numerics, AGradientNormThatIsNotFiniteStopsTooEvenWithAFiniteLoss) {
  EXPECT_EQ(CheckTrainStep(2.5, 1.0, 3).value(), 2.5);
  auto s = CheckTrainStep(2.5, INFINITY, 3);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("train: the gradient norm is +inf at step 3; stopping"),
            std::string::npos)
      << s.status();
}

TEST(Numerics, ADivergingRunStopsAndKeepsItsLastCheckpoint) {
  const std::string dir = ::testing::TempDir() + "diverge";
  const std::string cache = " --cache-dir=" + std::string(GPTC_BINARY_DIR) + "/test-kernel-cache";
  testing::RunCommand("rm -rf " + dir);
  // Step 1 at lr 1e30 blows the parameters up, so step 2's loss is not finite.
  auto r = testing::RunCommand(
      std::string(GPTC_BINARY) + " train --config=tiny --lr=1e30 --warmup=0 --steps=6 " +
      "--eval-interval=1 --eval-batches=1 --sample-tokens=0 --out-dir=" + dir + cache);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("at step 2; stopping"), std::string::npos) << r.out;
  auto ckpt = testing::RunCommand(std::string(GPTC_BINARY) + " eval --out-dir=" + dir +
                                  " --batches=1" + cache);
  EXPECT_EQ(ckpt.code, 0) << ckpt.out;
  EXPECT_NE(ckpt.out.find("(step 1, tiny)"), std::string::npos) << ckpt.out;
}

}  // namespace
}  // namespace gptc
