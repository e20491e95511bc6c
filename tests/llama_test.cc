// The LLaMA family (frontend/nn/llama.h), built from primitives on the general core: its
// parameter count by formula (and llama-cpu within 10% of shakespeare-cpu's), the rotary
// tables' values, every parameter's gradient against finite differences (float64
// interpreter), the JIT training as the interpreter does, and decoding over the KV cache
// giving the logits of the full window at every position.
#include "frontend/nn/llama.h"

#include <cmath>

#include "frontend/buffer.h"
#include "frontend/builder.h"
#include "frontend/model_registry.h"
#include "frontend/nn/llama_family.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "ir/rng.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/dce.h"
#include "passes/fuse.h"
#include "passes/kv_cache.h"
#include "passes/train_graphs.h"
#include "runtime/interp_backend.h"
#include "runtime/jit_backend.h"
#include "runtime/sampler.h"
#include "runtime/text_dataset.h"
#include "tests/gradcheck.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

LlamaConfig Tiny() {
  LlamaConfig c = *LlamaPreset("tiny-llama");
  c.batch_size = 2;
  c.block_size = 8;
  return c;
}

TEST(Llama, ParameterCount) {
  for (bool tied : {false, true}) {
    LlamaConfig c = Tiny();
    c.tie_embeddings = tied;
    auto f = nn::BuildLlama(c, 2);
    ASSERT_TRUE(f.ok()) << f.status();
    const int64_t V = c.vocab, C = c.n_embd, L = c.n_layer, F = c.ffn_hidden;
    const int64_t kv = c.n_kv_head * c.head_dim();
    // Per layer: q and o (C x C), k and v (C x kv), the MLP's three (C x F), two norm weights.
    EXPECT_EQ(CountParams(f->params),
              V * C * (tied ? 1 : 2) + L * (2 * C * C + 2 * C * kv + 3 * C * F + 2 * C) + C);
    EXPECT_EQ(f->buffers.size(), 2u);  // rope.cos, rope.sin: not parameters
  }
  auto llama = PresetModel("llama-cpu"), gpt = PresetModel("shakespeare-cpu");
  ASSERT_TRUE(llama.ok() && gpt.ok());
  const double ratio = double(CountParams(*llama->Params())) / CountParams(*gpt->Params());
  EXPECT_NEAR(ratio, 1.0, 0.1) << "llama-cpu against shakespeare-cpu";
}

TEST(Llama, RotaryTablesAreHuggingFacesRotateHalf) {
  const LlamaConfig c = Tiny();
  auto f = nn::BuildLlama(c, 1);
  ASSERT_TRUE(f.ok()) << f.status();
  const int64_t D = c.head_dim();
  for (const BufferSpec& b : f->buffers) {
    SCOPED_TRACE(b.name);
    auto v = MakeBuffer(b);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_EQ(v->type.shape, (ir::Shape{c.block_size, D / 2}));  // HF's halves are equal
    for (int64_t t = 0; t < c.block_size; ++t)
      for (int64_t i = 0; i < D / 2; ++i) {
        const double angle = t * std::pow(c.rope_theta, -2.0 * i / D);
        const double want = b.name == "rope.cos" ? std::cos(angle) : std::sin(angle);
        EXPECT_NEAR(v->data[t * (D / 2) + i], want, 1e-7) << t << "," << i;
      }
  }
}

// (L(θ + h d) - L(θ - h d)) / 2h against grad · d for every parameter along a random d.
TEST(Llama, EveryGradientAgainstFiniteDifferences) {
  for (int64_t kv_heads : {2, 4, 1}) {  // grouped, plain multi-head, multi-query
    SCOPED_TRACE(absl::StrCat("n_kv_head ", kv_heads));
    LlamaConfig c = Tiny();
    c.n_kv_head = kv_heads;
    auto f = nn::BuildLlama(c, 2);
    ASSERT_TRUE(f.ok()) << f.status();
    ir::LiteralMap args = InitParams(f->params, 7);
    Rng rng(3);
    for (const ParamSpec& p : f->params)  // norm weights away from 1, so no path is trivial
      if (p.name.find("norm") != std::string::npos)
        for (double& x : args[p.name].data) x += rng.Normal(0, 0.2);
    for (const BufferSpec& b : f->buffers) args[b.name] = *MakeBuffer(b);
    ir::Literal tokens(ir::I32({2, c.block_size})), targets(ir::I32({2, c.block_size}));
    for (double& x : tokens.data) x = static_cast<double>(rng.UniformInt(c.vocab));
    for (double& x : targets.data) x = static_cast<double>(rng.UniformInt(c.vocab));
    args["tokens"] = tokens;
    args["targets"] = targets;
    // Directions as large as N(0, 1) move the embeddings (std 0.02) far along RMSNorm's
    // steep rsqrt, so the step is smaller than the GPT test's 1e-5.
    testing::ExpectDirectionalGradients(f->graph, f->params, args, rng, /*h=*/1e-6);
  }
}

Model TinyModel() { return *nn::LlamaModel(Tiny()); }

TEST(Llama, JitTrainsAsTheInterpreter) {
  codegen::CompilerOptions co;
  co.cache_dir = testing::TestCacheDir();
  auto jit = JitBackend::Create(TinyModel(), 1, {}, co, {JitBackend::Step::kTrain});
  auto interp = InterpBackend::Create(TinyModel(), 1);
  ASSERT_TRUE(jit.ok()) << jit.status();
  ASSERT_TRUE(interp.ok()) << interp.status();
  for (int step = 1; step <= 3; ++step) {
    const Batch batch = RandomBatch(2, 8, 65, step);
    auto a = (*jit)->TrainStep(batch, 1e-2, step);
    auto b = (*interp)->TrainStep(batch, 1e-2, step);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
    EXPECT_NEAR(*a, *b, 1e-5 * std::abs(*b)) << "step " << step;
  }
}

TEST(Llama, DecodeMatchesTheFullWindowAtEveryPosition) {
  codegen::CompilerOptions co;
  co.cache_dir = testing::TestCacheDir();
  auto jit = JitBackend::Create(
      TinyModel(), 1, {}, co,
      {JitBackend::Step::kSample, JitBackend::Step::kPrefill, JitBackend::Step::kDecode});
  ASSERT_TRUE(jit.ok()) << jit.status();
  Rng rng(5);
  ir::Literal window(ir::I32({1, 8}));
  for (double& id : window.data) id = static_cast<double>(rng.UniformInt(65));
  auto full = (*jit)->Logits(window);
  ASSERT_TRUE(full.ok()) << full.status();
  for (int64_t pos = 0; pos < 8; ++pos) {
    auto kv = pos == 0 ? (*jit)->Prefill(window, 0)
                       : (*jit)->Decode(static_cast<int32_t>(window.data[pos]), pos);
    ASSERT_TRUE(kv.ok()) << kv.status();
    const std::vector<float> want = LogitsRow(*full, pos);
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR((*kv)[i], want[i], 1e-5) << "position " << pos << " logit " << i;
  }
}

// Past block_size the window is cropped to its last block_size tokens and the cache refilled
// (rotary positions restart with the window, as in a recomputed window): the same text with
// and without the cache, over three blocks.
TEST(Llama, SamplingPrintsTheSameTextWithAndWithoutTheCache) {
  codegen::CompilerOptions co;
  co.cache_dir = testing::TestCacheDir();
  auto jit = JitBackend::Create(TinyModel(), 1, {}, co);
  ASSERT_TRUE(jit.ok()) << jit.status();
  for (int step = 1; step <= 3; ++step)  // away from the uniform start
    ASSERT_TRUE((*jit)->TrainStep(RandomBatch(2, 8, 65, step), 0.05, step).ok());
  auto tok = MakeTokenizer(
      kCharTokenizer, {"\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", ""});
  ASSERT_TRUE(tok.ok());
  SampleOptions o;
  o.prompt = "ROMEO:";
  o.max_new_tokens = 3 * 8;
  o.temperature = 1.0;
  o.seed = 5;
  auto with = SampleText(**jit, **tok, 8, o);
  o.kv_cache = false;
  auto without = SampleText(**jit, **tok, 8, o);
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ(with->size(), 24u);
  EXPECT_EQ(*with, *without);
}

// The decode graph's cache holds each key/value head once: [1, n_kv_head, T, D] per layer
// for k and for v, n_kv_head / n_head of a multi-head cache.
TEST(Llama, TheKvCacheHoldsEachKeyValueHeadOnce) {
  auto cache_bytes = [](int64_t kv_heads) -> int64_t {
    LlamaConfig c = Tiny();
    c.n_kv_head = kv_heads;
    auto f = nn::BuildLlama(c, 1);
    EXPECT_TRUE(f.ok()) << f.status();
    auto logits = passes::SelectOutputs(f->graph, {"logits"});
    auto live = passes::DeadCodeElimination(*logits);
    auto decode = passes::DeriveKvGraph(*live, passes::KvGraph::kDecode);
    EXPECT_TRUE(decode.ok()) << decode.status();
    EXPECT_TRUE(ir::Verify(*decode).ok());
    int64_t bytes = 0, caches = 0;
    for (ir::ValueId v : decode->States()) {
      const ir::Value& val = decode->value(v);
      if (val.name.rfind(passes::kKvCachePrefix, 0) != 0) continue;
      ++caches;
      EXPECT_EQ(val.type.shape, (ir::Shape{1, kv_heads, c.block_size, c.head_dim()})) << val.name;
      bytes += 4 * val.type.num_elements();
    }
    EXPECT_EQ(caches, 2 * c.n_layer);
    return bytes;
  };
  EXPECT_EQ(2 * cache_bytes(2), cache_bytes(4));  // 2 of 4 heads: half of multi-head's
  EXPECT_EQ(4 * cache_bytes(1), cache_bytes(4));
}

// Grouped-query attention is fused with its key/value repeat: the attention kernels read each
// key/value head for its group of query heads, and the repeated [B, H, T, D] keys and values
// are never computed. The kernels (forward and backward) against the interpreter at several
// query blocks and 3 query heads per key/value head.
TEST(Llama, AttentionReadsEachKeyValueHeadForItsGroup) {
  auto f = nn::BuildLlama(Tiny(), 2);
  ASSERT_TRUE(f.ok()) << f.status();
  auto train = passes::BuildTrainStep(f->graph, passes::StepOptions());
  ASSERT_TRUE(train.ok()) << train.status();
  int attention = 0;
  for (const ir::Node& n : train->nodes()) {
    EXPECT_NE(n.op, ir::Op::kExpand) << "a key/value repeat left outside the attention kernels";
    if (n.op != ir::Op::kCausalAttention && n.op != ir::Op::kCausalAttentionGrad) continue;
    ++attention;
    EXPECT_EQ(train->value(n.inputs[1]).type.shape[1], 2) << ir::OpName(n.op);  // n_kv_head
    EXPECT_EQ(*n.attrs.GetInt("kv_repeat"), 2);
  }
  EXPECT_EQ(attention, 4);  // forward and backward of each of the 2 layers

  Builder b("gqa");
  const int64_t B = 2, H = 6, KV = 2, T = 64, D = 16;
  Tensor q = b.Param("q", ir::F32({B, H, T, D}), ParamInit::Normal(1.0));
  Tensor k = b.Param("k", ir::F32({B, KV, T, D}), ParamInit::Normal(1.0));
  Tensor v = b.Param("v", ir::F32({B, KV, T, D}), ParamInit::Normal(1.0));
  auto repeat = [&](Tensor t) { return Reshape(Expand(t, 2, H / KV), {B, H, T, D}); };
  Tensor att = Softmax(CausalMask(Scale(MatMul(q, repeat(k), {.transpose_b = true}), 0.25)));
  Tensor y = MatMul(att, repeat(v));
  Tensor r = b.Input("r", y.type());
  auto fwd = b.Finish({Sum(Reshape(y * r, {-1}), 0).named("loss")});
  ASSERT_TRUE(fwd.ok()) << fwd.status();
  auto grads = passes::Autodiff(*fwd);
  ASSERT_TRUE(grads.ok()) << grads.status();
  auto fused = passes::Fuse(*grads);
  ASSERT_TRUE(fused.ok()) << fused.status();
  ASSERT_TRUE(ir::Verify(*fused).ok()) << ir::Verify(*fused);
  int grouped = 0;
  for (const ir::Node& n : fused->nodes())
    if (n.op == ir::Op::kCausalAttention || n.op == ir::Op::kCausalAttentionGrad)
      grouped += n.attrs.GetInt("kv_repeat").value_or(1) == 3;
  EXPECT_EQ(grouped, 2);
  testing::Mismatch m = testing::CompareWithInterpreter(*fused, testing::RandomArgs(*fused, 3, 1));
  EXPECT_LE(m.worst_rel, 1e-5) << "worst at " << m.where;
}

TEST(Llama, BadConfigsAreNamed) {
  LlamaConfig c = Tiny();
  c.n_kv_head = 3;
  EXPECT_EQ(c.Validate().message(), "config 'tiny-llama': n_kv_head (3) must divide n_head (4)");
  c = Tiny();
  c.n_embd = 36;  // head width 9
  EXPECT_EQ(c.Validate().message(),
            "config 'tiny-llama': the head width n_embd / n_head (9) must be even: rotary "
            "embeddings turn pairs of its values");
  EXPECT_EQ(std::string(MakeModel("llama", "x", {{"n_kv_head", "two"}}).status().message()),
            "model config of arch 'llama': 'n_kv_head' must be an integer, not 'two'");
}

}  // namespace
}  // namespace gptc
