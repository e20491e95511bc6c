// Buffers (frontend/buffer.h): a model whose queries and keys are scaled by a table of
// positions that is computed, not trained or fed (as a rotary table is). The table's value is
// its graph's; training leaves it alone and gives it no moments; the JIT trains as the
// interpreter does; and decoding with the KV cache reads the table's row at the runtime
// position, so its logits match recomputing the window (also with the tokens gathered rather
// than embedded: the KV-cache pass follows the sequence through a gather). Bad buffers are named.
#include <cmath>

#include "frontend/builder.h"
#include "frontend/model.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/rng.h"
#include "ir/status_macros.h"
#include "runtime/interp_backend.h"
#include "runtime/jit_backend.h"
#include "runtime/text_dataset.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

constexpr int64_t kV = 11, kT = 6, kC = 8;

// pos[t, c] = cos(0.7 t + 0.3 c): each position scales the queries and keys differently.
Tensor PositionTable(Builder& g) {
  return Cos(Scale(g.Iota(ir::F32({kT, kC}), 0), 0.7) + Scale(g.Iota(ir::F32({kT, kC}), 1), 0.3));
}

// With `gather`, the token embedding is Gather(wte, tokens, 0) instead of Embedding, so the
// KV-cache pass follows the sequence through a gather's indices too.
Model Buffered(bool gather = false) {
  Model m;
  m.arch = "buffered";
  m.name = "test";
  m.vocab = kV;
  m.block_size = kT;
  m.batch_size = 2;
  m.forward = [gather](const ForwardOptions& o) -> absl::StatusOr<ForwardGraph> {
    Builder b("forward");
    Tensor tokens = b.Input("tokens", ir::I32({o.batch, kT}));
    Tensor targets = b.Input("targets", ir::I32({o.batch, kT}));
    Tensor wte = b.Param("wte", ir::F32({kV, kC}), ParamInit::Normal(0.5));
    Tensor wq = b.Param("wq", ir::F32({kC, kC}), ParamInit::Normal(0.5));
    Tensor wk = b.Param("wk", ir::F32({kC, kC}), ParamInit::Normal(0.5));
    Tensor pos = Slice(b.Buffer("pos", PositionTable), 0, 0, kT);  // [T, C], broadcast over B
    Tensor x = gather ? Gather(wte, tokens, 0) : Embedding(wte, tokens);
    Tensor q = MatMul(x, wq) * pos, k = MatMul(x, wk) * pos;
    Tensor att = Softmax(CausalMask(Scale(MatMul(q, k, {.transpose_b = true}), 0.35)));
    Tensor h = x + MatMul(att, x);
    Tensor logits = MatMul(h, wte, {.transpose_b = true}).named("logits");
    Tensor loss = SoftmaxCrossEntropy(logits, targets).named("loss");
    ASSIGN_OR_RETURN(ir::Graph g, b.Finish({logits, loss}));
    return ForwardGraph{std::move(g), b.params(), b.buffers()};
  };
  return m;
}

std::unique_ptr<JitBackend> Jit(bool gather = false) {
  codegen::CompilerOptions co;
  co.cache_dir = testing::TestCacheDir();
  auto b = JitBackend::Create(Buffered(gather), 1, {}, co,
                              {JitBackend::Step::kTrain, JitBackend::Step::kSample,
                               JitBackend::Step::kPrefill, JitBackend::Step::kDecode});
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? std::move(*b) : nullptr;
}

const Checkpoint::Tensor* Find(const std::vector<Checkpoint::Tensor>& ts, const std::string& n) {
  for (const Checkpoint::Tensor& t : ts)
    if (t.name == n) return &t;
  return nullptr;
}

TEST(Buffer, HoldsItsGraphsValueAndIsNotTrained) {
  auto jit = Jit();
  ASSERT_NE(jit, nullptr);
  for (int step = 0; step < 2; ++step) {
    auto state = jit->StateTensors();
    ASSERT_TRUE(state.ok());
    const Checkpoint::Tensor* pos = Find(*state, "pos");
    ASSERT_NE(pos, nullptr);
    for (int64_t t = 0; t < kT; ++t)
      for (int64_t c = 0; c < kC; ++c)
        EXPECT_FLOAT_EQ(pos->external[t * kC + c], std::cos(0.7 * t + 0.3 * c)) << t << "," << c;
    for (const Checkpoint::Tensor& t : *state)
      EXPECT_EQ(t.name.find(".pos"), std::string::npos) << t.name << ": a moment of a buffer";
    ASSERT_TRUE(jit->TrainStep(RandomBatch(2, kT, kV, 5), 0.1, step + 1).ok());
  }
}

TEST(Buffer, JitTrainsAsTheInterpreter) {
  auto jit = Jit();
  auto interp = InterpBackend::Create(Buffered(), 1);
  ASSERT_NE(jit, nullptr);
  ASSERT_TRUE(interp.ok()) << interp.status();
  for (int step = 1; step <= 3; ++step) {
    const Batch batch = RandomBatch(2, kT, kV, step);
    auto a = jit->TrainStep(batch, 0.05, step);
    auto b = (*interp)->TrainStep(batch, 0.05, step);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
    EXPECT_NEAR(*a, *b, 1e-5 * std::abs(*b)) << "step " << step;
  }
}

TEST(Buffer, DecodeReadsTheTableAtTheRuntimePosition) {
  for (bool gather : {false, true}) {
    SCOPED_TRACE(gather ? "tokens gathered" : "tokens embedded");
    auto jit = Jit(gather);
    ASSERT_NE(jit, nullptr);
    Rng rng(3);
    ir::Literal window(ir::I32({1, kT}));
    for (double& id : window.data) id = static_cast<double>(rng.UniformInt(kV));
    auto full = jit->Logits(window);
    ASSERT_TRUE(full.ok()) << full.status();
    for (int64_t pos = 0; pos < kT; ++pos) {
      auto kv = pos == 0 ? jit->Prefill(window, 0)
                         : jit->Decode(static_cast<int32_t>(window.data[pos]), pos);
      ASSERT_TRUE(kv.ok()) << kv.status();
      const std::vector<float> want = LogitsRow(*full, pos);
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR((*kv)[i], want[i], 1e-5) << "position " << pos << " logit " << i;
    }
  }
}

TEST(Buffer, BadBuffersAreNamed) {
  Builder b("forward");
  Tensor x = b.Input("x", ir::F32({3}));
  (void)b.Buffer("table", [&](Builder& g) { return Exp(g.Input("y", ir::F32({3}))); });
  EXPECT_EQ(b.status().message(),
            "buffer %table reads %y: a buffer is made of fills (iota, constant) and ops on them");
  Builder twice("forward");
  (void)twice.Buffer("t", PositionTable);
  (void)twice.Buffer("t", PositionTable);
  EXPECT_EQ(twice.status().message(), "buffer %t is declared twice");
  // A state the model does not say how to fill.
  Model m = Buffered();
  auto inner = m.forward;
  m.forward = [inner](const ForwardOptions& o) -> absl::StatusOr<ForwardGraph> {
    ASSIGN_OR_RETURN(ForwardGraph f, inner(o));
    f.buffers.clear();
    return f;
  };
  auto jit = JitBackend::Create(m, 1);
  ASSERT_FALSE(jit.ok());
  EXPECT_EQ(jit.status().message(),
            "state %pos of graph forward is not a buffer of the model (declare it with "
            "Builder::Buffer and return b.buffers() in the ForwardGraph)");
  (void)x;
}

}  // namespace
}  // namespace gptc
