// Which parameters AdamW decays is the model's choice (Builder::Param's Decay, recorded as
// `param decay` on the IR declaration), not a rule of the compiler. A model here decays a
// vector and not a matrix, the opposite of nanoGPT's grouping. The oracle is AdamW's own
// algebra: a step with weight decay wd differs from the same step without it by exactly
// lr * wd * p for a decayed parameter and by nothing for the others. Checked on both
// backends, so the fused blocked kernel (decayed parameters first) and the interpreter's
// unfused ops agree with it, and so does the per-parameter kernel (a width whose parameters
// the plan cannot lay out as one block).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "codegen/kernel_spec.h"
#include "frontend/builder.h"
#include "frontend/model.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/printer.h"
#include "ir/status_macros.h"
#include "passes/train_graphs.h"
#include "runtime/interp_backend.h"
#include "runtime/jit_backend.h"
#include "runtime/text_dataset.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

constexpr int64_t kV = 8, kT = 4;
// A width of 16 floats makes every parameter fill whole 64-byte slots, so the plan lays
// them out as one block and AdamW runs as the blocked kernel; at 6 it runs per parameter.
constexpr int64_t kBlocked = 16, kPerParameter = 6;

Model ChosenDecay(int64_t kC = kBlocked) {
  Model m;
  m.arch = "chosen-decay";
  m.name = "test";
  m.vocab = kV;
  m.block_size = kT;
  m.batch_size = 2;
  m.forward = [kC](const ForwardOptions& o) -> absl::StatusOr<ForwardGraph> {
    Builder b("forward");
    Tensor tokens = b.Input("tokens", ir::I32({o.batch, kT}));
    Tensor targets = b.Input("targets", ir::I32({o.batch, kT}));
    Tensor wte = b.Param("wte", ir::F32({kV, kC}), ParamInit::Normal(0.5), Decay::kNo);
    Tensor bias = b.Param("bias", ir::F32({kC}), ParamInit::Normal(0.5), Decay::kYes);
    Tensor w = b.Param("w", ir::F32({kC, kC}), ParamInit::Normal(0.5));  // kIfMatrix: decays
    Tensor gain = b.Param("gain", ir::F32({kC}), ParamInit::Ones());     // kIfMatrix: does not
    Tensor h = MatMul(Embedding(wte, tokens), w) + bias;
    Tensor logits = MatMul(h * gain, wte, {.transpose_b = true}).named("logits");
    Tensor loss = SoftmaxCrossEntropy(logits, targets).named("loss");
    ASSIGN_OR_RETURN(ir::Graph g, b.Finish({logits, loss}));
    return ForwardGraph{std::move(g), b.params(), b.buffers()};
  };
  return m;
}

const std::map<std::string, bool> kDecays = {
    {"wte", false}, {"bias", true}, {"w", true}, {"gain", false}};

TEST(WeightDecay, TheModelSaysWhichParametersDecay) {
  auto params = ChosenDecay().Params();
  ASSERT_TRUE(params.ok()) << params.status();
  ASSERT_EQ(params->size(), kDecays.size());
  for (const ParamSpec& p : *params) EXPECT_EQ(p.decay, kDecays.at(p.name)) << p.name;
  auto f = ChosenDecay().forward({.batch = 2});
  ASSERT_TRUE(f.ok());
  const std::string text = ir::PrintGraph(f->graph);
  EXPECT_NE(text.find("%bias: f32[16] param decay"), std::string::npos) << text;
  EXPECT_NE(text.find("%wte: f32[8,16] param,"), std::string::npos) << text;
}

// The adamw node lists which parameters decay, decayed first, and at the blocked width
// the kernel is the blocked one (so the next test checks that kernel).
TEST(WeightDecay, TheAdamWNodeRecordsTheChoice) {
  for (int64_t c : {kBlocked, kPerParameter}) {
    auto f = ChosenDecay(c).forward({.batch = 2, .training = true});
    ASSERT_TRUE(f.ok()) << f.status();
    auto g = passes::BuildTrainStep(f->graph, passes::StepOptions());
    ASSERT_TRUE(g.ok()) << g.status();
    int adamw = 0;
    for (const ir::Node& n : g->nodes()) {
      if (n.op != ir::Op::kAdamW) continue;
      ++adamw;
      EXPECT_EQ(*n.attrs.GetInts("decay"), (std::vector<int64_t>{1, 1, 0, 0}));
      EXPECT_EQ(g->value(n.inputs[2]).name, "bias");  // AdamW's order: decayed first
      EXPECT_EQ(codegen::KernelSpec::FromNode(*g, n).adamw_blocked, c == kBlocked) << c;
    }
    EXPECT_EQ(adamw, 1);
  }
}

// Each parameter after one train step from the same initial values, with and without decay.
using Params = std::map<std::string, std::vector<float>>;

// The model's parameters as the backend holds them.
Params Snapshot(const Backend& b) {
  Params out;
  auto state = b.StateTensors();
  EXPECT_TRUE(state.ok()) << state.status();
  if (state.ok())
    for (const Checkpoint::Tensor& t : *state)
      if (kDecays.count(t.name)) out[t.name].assign(t.values(), t.values() + t.size());
  return out;
}

Params AfterOneStep(Backend& b, double lr) {
  EXPECT_TRUE(b.TrainStep(RandomBatch(2, kT, kV, 9), lr, 1).ok());
  return Snapshot(b);
}

void ExpectDecayedExactly(const Params& p0, const Params& with, const Params& without, double lr,
                          double wd) {
  ASSERT_EQ(with.size(), kDecays.size());
  ASSERT_EQ(without.size(), kDecays.size());
  for (const auto& [name, decays] : kDecays) {
    SCOPED_TRACE(name);
    for (size_t i = 0; i < p0.at(name).size(); ++i) {
      const double want = decays ? lr * wd * p0.at(name)[i] : 0.0;
      EXPECT_NEAR(without.at(name)[i] - with.at(name)[i], want, 1e-6) << i;
    }
  }
}

TEST(WeightDecay, AStepDecaysExactlyTheChosenParameters) {
  constexpr double kLr = 0.05, kWd = 0.5;
  passes::AdamWOptions decayed, plain;
  decayed.weight_decay = kWd;
  plain.weight_decay = 0;
  codegen::CompilerOptions co;
  co.cache_dir = testing::TestCacheDir();
  for (auto [jit, c] : {std::pair{true, kBlocked}, {true, kPerParameter}, {false, kBlocked}}) {
    SCOPED_TRACE(absl::StrCat(jit ? "jit" : "interpreter", ", width ", c));
    auto make = [&, jit = jit, c = c](const passes::AdamWOptions& a) -> std::unique_ptr<Backend> {
      if (jit) {
        auto b = JitBackend::Create(ChosenDecay(c), 1, a, co, {JitBackend::Step::kTrain});
        EXPECT_TRUE(b.ok()) << b.status();
        return b.ok() ? std::move(*b) : nullptr;
      }
      auto b = InterpBackend::Create(ChosenDecay(c), 1, a);
      EXPECT_TRUE(b.ok()) << b.status();
      return b.ok() ? std::move(*b) : nullptr;
    };
    auto with = make(decayed), without = make(plain);
    ASSERT_TRUE(with && without);
    const Params p0 = Snapshot(*with);
    ExpectDecayedExactly(p0, AfterOneStep(*with, kLr), AfterOneStep(*without, kLr), kLr, kWd);
  }
}

}  // namespace
}  // namespace gptc
