// The KV-cache sampling graphs (passes/kv_cache.h): decode and prefill against recomputing
// the whole window, on the JIT and on the interpreter, and the pass's rewrites and errors.
#include <cmath>

#include "frontend/nn/gpt.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "ir/rng.h"
#include "ir/verifier.h"
#include "jit_test_util.h"
#include "passes/step_graphs.h"
#include "runtime/interp_backend.h"
#include "runtime/jit_backend.h"
#include "runtime/sampler.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

using Step = JitBackend::Step;

GptConfig Tiny() {
  GptConfig c = *PresetConfig("tiny");
  c.vocab = 65;
  return c;
}

// Random weights large enough that the logits differ by whole units between tokens (the
// initial std 0.02 makes every path agree trivially).
template <typename B>
void Randomize(B& backend, uint64_t seed) {
  Rng rng(seed);
  auto state = backend.StateTensors();
  ASSERT_TRUE(state.ok());
  for (const Checkpoint::Tensor& t : *state) {
    ir::Literal l(ir::F32(t.shape));
    const bool gain =
        t.name.size() > 2 && t.name.substr(t.name.size() - 2) == ".w" && t.shape.size() == 1;
    for (double& x : l.data) x = gain ? 1 + rng.Normal(0, 0.2) : rng.Normal(0, 0.3);
    ASSERT_TRUE(backend.SetState(t.name, l).ok()) << t.name;
  }
}

std::unique_ptr<JitBackend> Jit(const GptConfig& cfg) {
  codegen::CompilerOptions co;
  co.cache_dir = testing::TestCacheDir();
  auto b = JitBackend::Create(testing::GptModelOf(cfg), 1, {}, co,
                              {Step::kSample, Step::kPrefill, Step::kDecode});
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? std::move(*b) : nullptr;
}

ir::Literal Window(const std::vector<int32_t>& ids, int64_t T) {
  ir::Literal w(ir::I32({1, T}));
  for (size_t i = 0; i < ids.size() && static_cast<int64_t>(i) < T; ++i) w.data[i] = ids[i];
  return w;
}

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

TEST(KvCache, DecodeLogitsMatchRecomputingTheWindowAtEveryPosition) {
  const GptConfig cfg = Tiny();
  const int64_t T = cfg.block_size;
  auto jit = Jit(cfg);
  ASSERT_NE(jit, nullptr);
  Randomize(*jit, 7);
  Rng rng(11);
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < T; ++i) ids.push_back(static_cast<int32_t>(rng.UniformInt(cfg.vocab)));
  double spread = 0;
  // Position 0 by prefill, then one decode per position: each row against the full window.
  auto full = jit->Logits(Window(ids, T));
  ASSERT_TRUE(full.ok()) << full.status();
  for (int64_t pos = 0; pos < T; ++pos) {
    auto kv = pos == 0 ? jit->Prefill(Window({ids[0]}, T), 0) : jit->Decode(ids[pos], pos);
    ASSERT_TRUE(kv.ok()) << kv.status();
    const std::vector<float> want = LogitsRow(*full, pos);
    EXPECT_LE(MaxDiff(*kv, want), 1e-5) << "position " << pos;
    spread = std::max(spread, double(*std::max_element(want.begin(), want.end()) -
                                     *std::min_element(want.begin(), want.end())));
  }
  EXPECT_GT(spread, 1.0) << "logits too flat for the comparison to mean anything";
  // Prefill returns the row asked for, and the cache it leaves decodes on from there.
  auto pre = jit->Prefill(Window(ids, T), T / 2 - 1);
  ASSERT_TRUE(pre.ok());
  EXPECT_LE(MaxDiff(*pre, LogitsRow(*full, T / 2 - 1)), 1e-5);
  auto next = jit->Decode(ids[T / 2], T / 2);
  ASSERT_TRUE(next.ok());
  EXPECT_LE(MaxDiff(*next, LogitsRow(*full, T / 2)), 1e-5);
}

TEST(KvCache, SamplingPrintsTheSameTextWithAndWithoutTheCache) {
  const GptConfig cfg = Tiny();
  auto jit = Jit(cfg);
  ASSERT_NE(jit, nullptr);
  Randomize(*jit, 3);
  auto tok = MakeTokenizer(
      kCharTokenizer, {"\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", ""});
  ASSERT_TRUE(tok.ok());
  SampleOptions o;
  o.prompt = "ROMEO:";
  o.max_new_tokens = 3 * cfg.block_size;  // past the block: cropping and refilling the cache
  o.temperature = 1.0;
  o.seed = 5;
  o.kv_cache = true;
  auto with = SampleText(*jit, **tok, cfg.block_size, o);
  o.kv_cache = false;
  auto without = SampleText(*jit, **tok, cfg.block_size, o);
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ(with->size(), static_cast<size_t>(3 * cfg.block_size));
  EXPECT_EQ(*with, *without);
}

TEST(KvCache, InterpreterDecodeMatchesItsFullForward) {
  const GptConfig cfg = Tiny();
  auto interp = InterpBackend::Create(testing::GptModelOf(cfg), 1);
  ASSERT_TRUE(interp.ok());
  Randomize(**interp, 9);
  const std::vector<int32_t> ids = {5, 17, 3, 40, 22};
  auto full = (*interp)->NextTokenLogits(Window(ids, cfg.block_size), 0);
  auto first = (*interp)->Prefill(Window({ids[0]}, cfg.block_size), 0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_LE(MaxDiff(*first, *full), 1e-5);
  for (int64_t pos = 1; pos < static_cast<int64_t>(ids.size()); ++pos) {
    auto want = (*interp)->NextTokenLogits(Window(ids, cfg.block_size), pos);
    auto got = (*interp)->Decode(ids[pos], pos);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_LE(MaxDiff(*got, *want), 1e-5) << "position " << pos;
  }
}

TEST(KvCache, DecodeGraphHasOneCachePerKeyAndValueAndCompilesOnce) {
  GptConfig cfg = Tiny();
  cfg.batch_size = 1;
  auto model = nn::BuildGpt(cfg);
  ASSERT_TRUE(model.ok());
  auto decode = passes::BuildKvStep(model->graph, passes::KvGraph::kDecode);
  ASSERT_TRUE(decode.ok()) << decode.status();
  EXPECT_TRUE(ir::Verify(*decode).ok());
  const int64_t H = cfg.n_head, D = cfg.n_embd / cfg.n_head;
  ASSERT_EQ(decode->States().size(), static_cast<size_t>(2 * cfg.n_layer));
  for (ir::ValueId s : decode->States())
    EXPECT_EQ(decode->value(s).type, ir::F32({1, H, cfg.block_size, D})) << decode->value(s).name;
  EXPECT_EQ(decode->updates().size(), static_cast<size_t>(2 * cfg.n_layer));
  EXPECT_EQ(decode->value(decode->outputs()[0]).type, ir::F32({1, 1, cfg.vocab}));
  // Every position runs the same executable: a position outside the cache is refused by name.
  auto jit = Jit(Tiny());
  ASSERT_NE(jit, nullptr);
  ASSERT_TRUE(jit->Prefill(Window({1}, cfg.block_size), 0).ok());
  auto bad = jit->Decode(1, cfg.block_size);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("%position"), std::string::npos) << bad.status();
}

TEST(KvCache, ConstantsBesideTheSequenceTakeTheNewLength) {
  // An RMSNorm's epsilon is a fill of the full [1, T, C] shape: the decode graph makes it
  // [1, 1, C], and each row equals the forward graph's row at that position.
  auto g = ir::ParseGraph(R"(graph g(%tokens: i32[1,4], %e: f32[8,3] param) {
  %x = f32[1,4,3] embedding(%e, %tokens)
  %xx = f32[1,4,3] mul(%x, %x)
  %ms = f32[1,4] mean(%xx) axis=2
  %msx = f32[1,4,3] expand(%ms) axis=2 size=3
  %eps = f32[1,4,3] constant() value=0.5
  %msx_eps = f32[1,4,3] add(%eps, %msx)
  %r = f32[1,4,3] sqrt(%msx_eps)
  %y = f32[1,4,3] div(%x, %r)
  return %y
})");
  ASSERT_TRUE(g.ok()) << g.status();
  auto d = passes::DeriveKvGraph(*g, passes::KvGraph::kDecode);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(ir::Verify(*d).ok());
  ir::Literal e(ir::F32({8, 3}));
  Rng rng(3);
  for (double& x : e.data) x = rng.Normal(0, 1);
  ir::Literal tokens(ir::I32({1, 4}));
  tokens.data = {3, 1, 7, 5};
  auto full = ir::Interpret(*g, {{"tokens", tokens}, {"e", e}});
  ASSERT_TRUE(full.ok()) << full.status();
  for (int pos = 0; pos < 4; ++pos) {
    ir::Literal one(ir::I32({1, 1})), p(ir::I32({1}));
    one.data = {tokens.data[pos]};
    p.data = {double(pos)};
    auto row = ir::Interpret(*d, {{"tokens", one}, {"e", e}, {"position", p}});
    ASSERT_TRUE(row.ok()) << row.status();
    ASSERT_EQ((*row)[0].type, ir::F32({1, 1, 3}));
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR((*row)[0].data[c], (*full)[0].data[pos * 3 + c], 1e-12) << pos << "," << c;
  }
}

TEST(KvCache, PassRefusesGraphsItCannotFollowTheSequenceThrough) {
  // A reduction over the sequence axis (mean over positions) has no one-token form.
  auto g = ir::ParseGraph(R"(graph g(%tokens: i32[1,4], %e: f32[8,3] param) {
  %x = f32[1,4,3] embedding(%e, %tokens)
  %m = f32[1,3] mean(%x) axis=1
  return %m
})");
  ASSERT_TRUE(g.ok()) << g.status();
  auto d = passes::DeriveKvGraph(*g, passes::KvGraph::kDecode);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("reducing over the sequence axis"), std::string::npos)
      << d.status();
  EXPECT_NE(d.status().message().find("%m"), std::string::npos) << d.status();
}

// Positions made by iota would have to start at the runtime position in a decode graph; the
// pass says so rather than decode from position 0.
TEST(KvCache, PassRefusesAnIotaAsLongAsTheSequence) {
  auto g = ir::ParseGraph(R"(graph g(%tokens: i32[1,4], %e: f32[8,3] param) {
  %x = f32[1,4,3] embedding(%e, %tokens)
  %p = f32[1,4,3] iota() axis=1
  %y = f32[1,4,3] add(%x, %p)
  return %y
})");
  ASSERT_TRUE(g.ok()) << g.status();
  auto d = passes::DeriveKvGraph(*g, passes::KvGraph::kDecode);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("iota as long as the sequence"), std::string::npos)
      << d.status();
}

}  // namespace
}  // namespace gptc
