// The chunked cross-entropy (passes/chunk_xent.h): the logits never exist whole, the
// gradients equal the unchunked ones (the interpreter to float rounding, the JIT to 1e-5),
// the bad-target check still sees the targets, and at gpt2 it is the default and the planned
// arena drops by the logits' share.
#include "passes/chunk_xent.h"

#include <cmath>
#include <sstream>

#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/param_init.h"
#include "gtest/gtest.h"
#include "ir/id_limits.h"
#include "ir/interpreter.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/fuse.h"
#include "passes/plan_report.h"
#include "passes/train_graphs.h"
#include "runtime/executable.h"
#include "tests/jit_test_util.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

constexpr int64_t kVocab = 384;  // tiny's batch: 4 x 32 = 128 rows of logits

GptConfig Config() {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.vocab = kVocab;
  return cfg;
}

// tiny's loss and parameter gradients, fused; chunked into chunks of `rows` rows (0: not),
// each chunk's gradients with its forward or (`recompute`) in the backward from recomputed
// logits.
ir::Graph Gradients(int64_t rows, std::string* explain = nullptr, bool recompute = false) {
  auto m = nn::BuildGpt(Config());
  EXPECT_TRUE(m.ok()) << m.status();
  auto grads = passes::Autodiff(*passes::SelectOutputs(m->graph, {"loss"}));
  EXPECT_TRUE(grads.ok()) << grads.status();
  passes::FuseOptions o;
  std::ostringstream log;
  o.explain = &log;
  o.xent.min_bytes = 0;
  o.xent.chunk_bytes = rows > 0 ? rows * kVocab * 4 : int64_t{1} << 40;
  o.xent.gradients_with_forward = !recompute;
  auto g = passes::Fuse(*grads, o);
  EXPECT_TRUE(g.ok()) << g.status();
  if (explain) *explain = log.str();
  return *g;
}

ir::LiteralMap Args(const ir::Graph& g) {
  auto m = nn::BuildGpt(Config());
  ir::LiteralMap args = testing::RandomArgs(g, 5, kVocab);
  for (const auto& [name, lit] : InitParams(m->params, 11)) args[name] = lit;
  return args;
}

// The largest row count of any value whose last axis is the vocabulary, other than the
// embedding table and its gradients.
int64_t LargestLogitsRows(const ir::Graph& g) {
  int64_t rows = 0;
  for (const ir::Value& v : g.values()) {
    const ir::Shape& s = v.type.shape;
    if (s.empty() || s.back() != kVocab || v.name.find("wte") != std::string::npos ||
        v.name.find(".w.") != std::string::npos)
      continue;
    rows = std::max(rows, ir::NumElements(s) / kVocab);
  }
  return rows;
}

TEST(ChunkXent, SplitsTheHeadIntoChunksAndExplainsIt) {
  std::string log;
  const ir::Graph g = Gradients(32, &log);
  EXPECT_TRUE(ir::Verify(g).ok()) << ir::Verify(g);
  EXPECT_NE(log.find("chunk chunked_xent: %loss over 4 chunks of 32 rows (logits 0.2 MiB -> "
                     "0.0 MiB per chunk, gradients with the forward)"),
            std::string::npos)
      << log;
  std::string later;
  Gradients(32, &later, /*recompute=*/true);
  EXPECT_NE(later.find("over 4 chunks of 32 rows (logits 0.2 MiB -> 0.0 MiB per chunk, backward "
                       "recomputes them)"),
            std::string::npos)
      << later;
  EXPECT_EQ(LargestLogitsRows(g), 32);
  EXPECT_EQ(LargestLogitsRows(Gradients(0)), 128);
  // 48 rows do not divide 128: the largest divisor below is taken.
  EXPECT_EQ(LargestLogitsRows(Gradients(48)), 32);
  // By default small logits stay whole: the memory is not worth a GEMM more.
  auto m = nn::BuildGpt(Config());
  ASSERT_TRUE(m.ok());
  auto grads = passes::Autodiff(*passes::SelectOutputs(m->graph, {"loss"}));
  ASSERT_TRUE(grads.ok());
  std::ostringstream small;
  passes::FuseOptions defaults;
  defaults.explain = &small;
  auto whole = passes::Fuse(*grads, defaults);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(LargestLogitsRows(*whole), 128);
  EXPECT_NE(small.str().find("refuse chunked_xent at %loss: the logits (128 x 384, 0.2 MiB) are "
                             "below 256.0 MiB, where the memory saved is worth a GEMM more"),
            std::string::npos)
      << small.str();
  std::string refused;
  Gradients(0, &refused);
  EXPECT_NE(refused.find("refuse chunked_xent at %loss: the logits (128 x 384, 0.2 MiB) fit in "
                         "one chunk"),
            std::string::npos)
      << refused;
}

TEST(ChunkXent, LogitsThatAreReturnedStayWhole) {
  auto m = nn::BuildGpt(Config());
  ASSERT_TRUE(m.ok());
  passes::FuseOptions o;
  std::ostringstream log;
  o.explain = &log;
  o.xent.min_bytes = 0;
  o.xent.chunk_bytes = 32 * kVocab * 4;
  auto g = passes::Fuse(*passes::SelectOutputs(m->graph, {"loss", "logits"}), o);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_NE(log.str().find("refuse chunked_xent at %loss: the logits are returned"),
            std::string::npos)
      << log.str();
  EXPECT_EQ(LargestLogitsRows(*g), 128);
}

TEST(ChunkXent, TargetsKeepTheirVocabularyLimit) {
  const ir::Graph g = Gradients(32);
  const auto limits = ir::IdLimits(g);
  const auto targets = g.FindValue("targets");
  ASSERT_TRUE(targets.has_value());
  ASSERT_TRUE(limits.contains(*targets));
  EXPECT_EQ(limits.at(*targets), kVocab);
}

void ExpectInterpretedGradientsEqual(const ir::Graph& whole, const ir::Graph& chunked) {
  const ir::LiteralMap args = Args(whole);
  auto a = ir::Interpret(whole, args), b = ir::Interpret(chunked, args);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  ASSERT_EQ(a->size(), b->size());
  for (size_t k = 0; k < a->size(); ++k) {
    double diff = 0, scale = 0;
    for (size_t e = 0; e < (*a)[k].data.size(); ++e) {
      diff = std::max(diff, std::abs((*a)[k].data[e] - (*b)[k].data[e]));
      scale = std::max(scale, std::abs((*a)[k].data[e]));
    }
    EXPECT_LE(diff, 1e-6 * std::max(1.0, scale))
        << "output " << k << " %" << whole.value(whole.outputs()[k]).name;
  }
}

TEST(ChunkXent, GradientsEqualUnchunkedOnTheInterpreter) {
  for (bool recompute : {false, true}) {
    SCOPED_TRACE(recompute ? "recomputed in the backward" : "with the forward");
    ExpectInterpretedGradientsEqual(Gradients(0), Gradients(32, nullptr, recompute));
  }
}

// Errors against the largest gradient, as in fuse_test: some true gradients are exactly zero.
void ExpectJitGradientsClose(const ir::Graph& whole, const ir::Graph& chunked) {
  const ir::LiteralMap args = Args(whole);
  std::vector<ir::Literal> out[2];
  int i = 0;
  for (const ir::Graph* g : {&whole, &chunked}) {
    auto r = testing::RunOnJit(*g, args);
    ASSERT_TRUE(r.ok()) << r.status();
    out[i++] = *r;
  }
  double scale = 0;
  for (size_t k = 1; k < out[0].size(); ++k)
    for (double x : out[0][k].data) scale = std::max(scale, std::abs(x));
  EXPECT_NEAR(out[0][0].data[0], out[1][0].data[0], 1e-5 * std::abs(out[0][0].data[0]));
  for (size_t k = 1; k < out[0].size(); ++k) {
    double diff = 0;
    for (size_t e = 0; e < out[0][k].data.size(); ++e)
      diff = std::max(diff, std::abs(out[0][k].data[e] - out[1][k].data[e]));
    EXPECT_LE(diff / scale, 1e-5) << "output " << k << " %" << whole.value(whole.outputs()[k]).name;
  }
}

TEST(ChunkXent, GradientsMatchUnchunkedOnTheJit) {
  for (bool recompute : {false, true}) {
    SCOPED_TRACE(recompute ? "recomputed in the backward" : "with the forward");
    ExpectJitGradientsClose(Gradients(0), Gradients(32, nullptr, recompute));
  }
}

void ExpectPlannedStepMatches(const ir::Graph& g);

// The whole planned train step (the dw sum written over itself by matmul_add, dx's chunks
// written into their concat) on the JIT, against the unchunked step on the interpreter, over
// three AdamW steps: a wrong chunk of any gradient changes the later losses.
TEST(ChunkXent, PlannedTrainStepMatchesTheInterpreter) {
  for (bool recompute : {false, true}) {
    SCOPED_TRACE(recompute ? "recomputed in the backward" : "with the forward");
    ExpectPlannedStepMatches(testing::TinyChunkedTrainStep(recompute));
  }
}

void ExpectPlannedStepMatches(const ir::Graph& g) {
  const ir::Graph ref = testing::TinyTrainStep();
  int accumulating = 0;
  for (const ir::Node& n : g.nodes()) accumulating += n.op == ir::Op::kMatMulAdd;
  EXPECT_EQ(accumulating, 3);
  ir::LiteralMap state = testing::RandomArgs(ref, 7, 65);
  auto m = nn::BuildGpt(*PresetConfig("tiny"));
  for (const auto& [name, lit] : InitParams(m->params, 3)) state[name] = lit;
  for (ir::ValueId v : ref.States()) state[ref.value(v).name] = ir::Literal(ref.value(v).type);
  const ir::Literal lr(ir::F32({}), {1e-2});
  StateStore st;
  auto ex = Executable::Create(g, testing::SharedCompiler(), st);
  ASSERT_TRUE(ex.ok()) << ex.status();
  for (const auto& [name, lit] : state) {
    if (st.Find(name)) {
      ASSERT_TRUE(st.Set(name, lit).ok());
    }
  }
  for (const char* in : {"tokens", "targets"}) ASSERT_TRUE((*ex)->SetInput(in, state[in]).ok());
  ASSERT_TRUE((*ex)->SetInput("lr", lr).ok());
  for (int step = 1; step <= 3; ++step) {
    const ir::Literal s(ir::F32({}), {double(step)});
    auto want = ir::InterpretStep(
        ref, state,
        {{"tokens", state["tokens"]}, {"targets", state["targets"]}, {"lr", lr}, {"step", s}});
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_TRUE((*ex)->SetInput("step", s).ok());
    auto got = (*ex)->Run();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_NEAR((*got)[0].data[0], (*want)[0].data[0], 1e-5 * std::abs((*want)[0].data[0]))
        << "step " << step;
  }
}

// gpt2's train step (built and planned, not compiled): chunked by default, and the arena
// loses at least the logits and their gradient less one chunk of each.
TEST(ChunkXent, DefaultAtGpt2AndTheArenaDropsByTheLogits) {
  auto m = nn::BuildGpt(*PresetConfig("gpt2"));
  ASSERT_TRUE(m.ok());
  passes::StepOptions on, off;
  off.fusion.patterns = {"softmax_xent",  "causal_attention", "scale_mask_softmax",
                         "add_layernorm", "bias_gelu",        "matmul_bias",
                         "adamw",         "elementwise"};
  std::ostringstream log;
  on.fusion.explain = &log;
  auto a = passes::BuildTrainStep(m->graph, on), b = passes::BuildTrainStep(m->graph, off);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_NE(log.str().find("chunk chunked_xent: %loss over 16 chunks of 256 rows"),
            std::string::npos)
      << log.str();
  const int64_t logits = int64_t{4} * 1024 * 50304 * 4;
  const int64_t chunked = passes::AnalyzePlan(*a).planned_bytes;
  const int64_t whole = passes::AnalyzePlan(*b).planned_bytes;
  EXPECT_LE(chunked, whole - 2 * logits + 2 * logits / 16 + (int64_t{160} << 20))
      << "chunked " << chunked << " whole " << whole;
}

}  // namespace
}  // namespace gptc
