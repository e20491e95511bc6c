// Running planned graphs: the interpreter in the plan's memory (with dead buffers poisoned
// with NaN) computes exactly what it computes with a Literal per value, and the JIT trains
// on the planned arena with the same losses as with one buffer per value.
#include "frontend/nn/gpt_config.h"
#include "frontend/nn/gpt.h"
#include "frontend/param_init.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "ir/rng.h"
#include "passes/train_graphs.h"
#include "runtime/jit_backend.h"
#include "tests/jit_test_util.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

Batch RandomBatch(const GptConfig& cfg, uint64_t seed) {
  Rng rng(seed);
  Batch b{ir::Literal(ir::I32({cfg.batch_size, cfg.block_size})),
          ir::Literal(ir::I32({cfg.batch_size, cfg.block_size}))};
  for (double& x : b.tokens.data) x = static_cast<double>(rng.UniformInt(cfg.vocab));
  for (double& x : b.targets.data) x = static_cast<double>(rng.UniformInt(cfg.vocab));
  return b;
}

// Three AdamW steps of the tiny GPT's planned train step, fused and unfused: losses and every
// updated parameter and moment are identical whether values live in Literals, in the plan's
// memory, or in the plan's memory with dead buffers poisoned.
TEST(PlanRuntime, PoisonedInterpreterMatchesTheNormalOne) {
  const GptConfig cfg = *PresetConfig("tiny");
  auto model = nn::BuildGpt(cfg);
  ASSERT_TRUE(model.ok());
  for (bool fuse : {true, false}) {
    SCOPED_TRACE(fuse ? "fused" : "unfused");
    passes::StepOptions o;
    o.fuse = fuse;
    auto train = passes::BuildTrainStep(model->graph, o);
    ASSERT_TRUE(train.ok()) << train.status();
    ASSERT_TRUE(train->planned());
    using M = ir::InterpOptions::Memory;
    std::vector<std::vector<double>> losses;
    std::vector<ir::LiteralMap> states;
    for (M memory : {M::kValues, M::kPlanned, M::kPoisoned}) {
      ir::LiteralMap state = InitParams(model->params, 5);
      for (ir::ValueId v : train->States())
        state[train->value(v).name] = ir::Literal(train->value(v).type);
      ir::InterpOptions io;
      io.memory = memory;
      std::vector<double> l;
      for (int step = 1; step <= 3; ++step) {
        const Batch b = RandomBatch(cfg, step);
        ir::LiteralMap in = {{"tokens", b.tokens},
                             {"targets", b.targets},
                             {"lr", ir::Literal(ir::F32({}), {1e-3})},
                             {"step", ir::Literal(ir::F32({}), {double(step)})}};
        auto out = ir::InterpretStep(*train, state, in, io);
        ASSERT_TRUE(out.ok()) << out.status();
        l.push_back((*out)[0].data[0]);
      }
      EXPECT_TRUE(std::isfinite(l.back()));
      losses.push_back(l);
      states.push_back(state);
    }
    for (size_t m = 1; m < losses.size(); ++m) {
      EXPECT_EQ(losses[m], losses[0]) << "memory mode " << m;
      for (const auto& [name, lit] : states[0])
        EXPECT_EQ(states[m].at(name).data, lit.data) << name;
    }
  }
}

// 20 JIT train steps of the tiny GPT on the planned arena (strided views, in place) and with
// one buffer per value (copies of q, k, v and of the merged heads): every GEMM sums over k
// in the same order whether it reads strides or not, and the schedules are the first
// guesses (no timing), so the losses are bit-identical.
TEST(PlanRuntime, JitTrainingOnThePlannedArenaMatchesOneBufferPerValue) {
  const GptConfig cfg = *PresetConfig("tiny");
  codegen::CompilerOptions co;
  co.cache_dir = testing::TestCacheDir();
  co.tune = false;
  std::vector<std::vector<double>> losses;
  for (bool plan : {true, false}) {
    passes::StepOptions o;
    o.plan = plan;
    auto jit = JitBackend::Create(testing::GptModelOf(cfg), 11, o, co);
    ASSERT_TRUE(jit.ok()) << jit.status();
    std::vector<double> l;
    for (int step = 1; step <= 20; ++step) {
      auto loss = (*jit)->TrainStep(RandomBatch(cfg, 100 + step % 4), 1e-3, step);
      ASSERT_TRUE(loss.ok()) << loss.status();
      l.push_back(*loss);
    }
    auto eval = (*jit)->EvalLoss(RandomBatch(cfg, 7));
    ASSERT_TRUE(eval.ok());
    l.push_back(*eval);
    losses.push_back(l);
  }
  EXPECT_LT(losses[0][19], losses[0][0]);  // it trains (the batches repeat)
  EXPECT_EQ(losses[0], losses[1]);
}

}  // namespace
}  // namespace gptc
