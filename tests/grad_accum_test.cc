// Gradient accumulation (passes/grad_accum.h, --grad-accum): N micro-batches of B rows give
// the optimiser step of one batch of N*B rows, to float summation order, on the compiled and
// the interpreted backend; the sums are not model state; misuse is an error.
#include "passes/grad_accum.h"

#include <cmath>
#include <memory>

#include "absl/strings/match.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/param_init.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/step_graphs.h"
#include "runtime/interp_backend.h"
#include "runtime/jit_backend.h"
#include "tests/jit_test_util.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

Model Tiny(int64_t batch) {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.batch_size = batch;
  return testing::GptModelOf(cfg);
}

// Rows [first, first + rows) of step `step`'s batch: ids from a hash of (step, row, column),
// so every caller sees the same rows.
Batch RowsOf(int64_t step, int64_t first, int64_t rows) {
  const int64_t t = 32;
  Batch b{ir::Literal(ir::I32({rows, t})), ir::Literal(ir::I32({rows, t}))};
  auto id = [](uint64_t x) {
    x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ull;
    return static_cast<double>((x >> 33) % 65);
  };
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < t; ++c) {
      const uint64_t key = (static_cast<uint64_t>(step) << 40) ^ ((first + i) << 20) ^ c;
      b.tokens.data[i * t + c] = id(2 * key);
      b.targets.data[i * t + c] = id(2 * key + 1);
    }
  return b;
}

// Three optimiser steps of one batch of 8 rows against 2 micro-batches of 4 (and 4 of 2):
// the step losses (the micro-batches' mean) agree, and so do the later ones, which see the
// parameters the accumulated gradients made.
template <typename MakeBackend>
void ExpectAccumulationEqualsLargeBatch(MakeBackend make, double tol) {
  passes::StepOptions one;
  std::unique_ptr<Backend> big = make(Tiny(8), one);
  for (int n : {2, 4}) {
    SCOPED_TRACE(n);
    passes::StepOptions accum;
    accum.grad_accum = n;
    std::unique_ptr<Backend> small = make(Tiny(8 / n), accum);
    if (n == 4) big = make(Tiny(8), one);  // fresh parameters and moments
    for (int64_t step = 1; step <= 3; ++step) {
      auto want = big->TrainStep(RowsOf(step, 0, 8), 1e-2, step);
      ASSERT_TRUE(want.ok()) << want.status();
      double sum = 0;
      for (int m = 0; m + 1 < n; ++m) {
        auto l = small->AccumulateStep(RowsOf(step, m * (8 / n), 8 / n), step, m);
        ASSERT_TRUE(l.ok()) << l.status();
        sum += *l;
      }
      auto last = small->TrainStep(RowsOf(step, 8 - 8 / n, 8 / n), 1e-2, step);
      ASSERT_TRUE(last.ok()) << last.status();
      EXPECT_NEAR((sum + *last) / n, *want, tol * std::abs(*want)) << "step " << step;
    }
  }
}

TEST(GradAccum, EqualsOneLargerBatchOnTheJit) {
  ExpectAccumulationEqualsLargeBatch(
      [](const Model& m, const passes::StepOptions& o) -> std::unique_ptr<Backend> {
        codegen::CompilerOptions c;
        c.cache_dir = testing::TestCacheDir();
        auto b = JitBackend::Create(m, 1337, o, c);
        EXPECT_TRUE(b.ok()) << b.status();
        return std::move(*b);
      },
      1e-5);
}

TEST(GradAccum, EqualsOneLargerBatchOnTheInterpreter) {
  ExpectAccumulationEqualsLargeBatch(
      [](const Model& m, const passes::StepOptions& o) -> std::unique_ptr<Backend> {
        auto b = InterpBackend::Create(m, 1337, o);
        EXPECT_TRUE(b.ok()) << b.status();
        return std::move(*b);
      },
      1e-6);
}

// The gradients the last micro-batch hands to AdamW (sum over micro-batches / N) against
// autodiff's on the whole batch: optimiser steps alone could not tell, AdamW being blind to
// a gradient's scale.
TEST(GradAccum, GradientsAreTheLargeBatchMean) {
  auto grads = [](int64_t batch) {
    auto m = Tiny(batch).forward({.batch = batch, .training = true});
    EXPECT_TRUE(m.ok());
    auto g = passes::Autodiff(*passes::SelectOutputs(m->graph, {"loss"}));
    EXPECT_TRUE(g.ok());
    return *g;
  };
  const ir::Graph whole = grads(8), part = grads(4);
  auto micro = passes::AccumulateGradients(part, passes::GradAccumGraph::kMicro, 2);
  auto last = passes::AccumulateGradients(part, passes::GradAccumGraph::kLast, 2);
  ASSERT_TRUE(micro.ok() && last.ok()) << micro.status() << last.status();
  ASSERT_TRUE(ir::Verify(*micro).ok() && ir::Verify(*last).ok());
  ir::LiteralMap state = InitParams(Tiny(8).Params().value(), 7);
  for (ir::ValueId v : last->States())
    state[last->value(v).name] = ir::Literal(last->value(v).type);
  auto rows = [](const Batch& b) {
    return ir::LiteralMap{{"tokens", b.tokens}, {"targets", b.targets}};
  };
  ASSERT_TRUE(ir::InterpretStep(*micro, state, rows(RowsOf(1, 0, 4))).ok());
  auto got = ir::InterpretStep(*last, state, rows(RowsOf(1, 4, 4)));
  ASSERT_TRUE(got.ok()) << got.status();
  ir::LiteralMap args = state;
  for (const auto& [k, v] : rows(RowsOf(1, 0, 8))) args[k] = v;
  auto want = ir::Interpret(whole, args);
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_EQ(got->size(), want->size());
  for (size_t k = 1; k < want->size(); ++k) {  // output 0: the last micro-batch's loss
    double diff = 0, scale = 1e-3;
    for (size_t e = 0; e < (*want)[k].data.size(); ++e) {
      diff = std::max(diff, std::abs((*got)[k].data[e] - (*want)[k].data[e]));
      scale = std::max(scale, std::abs((*want)[k].data[e]));
    }
    EXPECT_LE(diff, 1e-5 * scale) << "%" << whole.value(whole.outputs()[k]).name;
  }
  // The sums were zeroed for the next step.
  for (const auto& [name, lit] : state) {
    if (!absl::StartsWith(name, passes::kGradAccumPrefix)) continue;
    for (double x : lit.data) ASSERT_EQ(x, 0.0) << name;
  }
}

TEST(GradAccum, SumsAreNotModelState) {
  passes::StepOptions o;
  o.grad_accum = 2;
  auto b = InterpBackend::Create(Tiny(4), 1, o);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE((*b)->state().count("grad_acc.wte"));
  auto tensors = (*b)->StateTensors();
  ASSERT_TRUE(tensors.ok());
  bool moments = false;
  for (const Checkpoint::Tensor& t : *tensors) {
    EXPECT_FALSE(absl::StartsWith(t.name, passes::kGradAccumPrefix)) << t.name;
    moments |= t.name == "m.wte";
  }
  EXPECT_TRUE(moments);
}

TEST(GradAccum, MisuseIsAnError) {
  auto plain = InterpBackend::Create(Tiny(4), 1);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->AccumulateStep(RowsOf(1, 0, 4), 1, 0).status().message(),
            "gradient accumulation: this backend was built for one micro-batch per step");
  auto m = Tiny(4).forward({.batch = 4, .training = true});
  ASSERT_TRUE(m.ok());
  auto fwd = passes::SelectOutputs(m->graph, {"loss"});
  EXPECT_EQ(passes::AccumulateGradients(*fwd, passes::GradAccumGraph::kMicro, 2).status().message(),
            "grad-accum: the graph returns no gradients (grad.<p>)");
  EXPECT_EQ(passes::AccumulateGradients(*fwd, passes::GradAccumGraph::kLast, 1).status().message(),
            "grad-accum: needs at least 2 micro-batches, got 1");
}

TEST(GradAccum, StepGraphsVerify) {
  passes::StepOptions o;
  o.grad_accum = 3;
  auto g = passes::BuildStepGraphs(Tiny(4), o);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(ir::Verify(g->accumulate).ok());
  EXPECT_TRUE(ir::Verify(g->train).ok());
  // The micro-batch step returns the loss only and updates only the sums.
  EXPECT_EQ(g->accumulate.outputs().size(), 1u);
  for (const ir::Graph::Update& u : g->accumulate.updates())
    EXPECT_TRUE(absl::StartsWith(g->accumulate.value(u.target).name, passes::kGradAccumPrefix));
}

}  // namespace
}  // namespace gptc
