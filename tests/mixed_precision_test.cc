// Mixed precision (bf16 GEMM operands, f32 accumulation; passes/mixed_precision.h): the bf16
// type's rounding, its text form and shape rules, the JIT against the interpreter (which
// emulates bf16 by rounding to nearest even), the pass's rewrite, the plan's 2-byte values,
// and the tiny GPT's gradients against the fp32 PyTorch fixture.
#include "passes/mixed_precision.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <set>

#include "absl/strings/match.h"
#include "codegen/host_target.h"
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/param_init.h"
#include "gtest/gtest.h"
#include "ir/emitter.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/rng.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/plan_report.h"
#include "passes/train_graphs.h"
#include "runtime/executable.h"
#include "tests/fixture.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

using ir::DType;
using ir::Op;

// bf16 keeps 7 mantissa bits: between 1 and 2 its values are 1 + k/128.
TEST(BF16, RoundsToNearestEven) {
  const double ulp = std::ldexp(1.0, -7);
  EXPECT_EQ(ir::RoundToBF16(1.0), 1.0);
  EXPECT_EQ(ir::RoundToBF16(1 + ulp / 2), 1.0);             // tie: to the even 1
  EXPECT_EQ(ir::RoundToBF16(1 + 1.5 * ulp), 1 + 2 * ulp);   // tie: to the even 1 + 2/128
  EXPECT_EQ(ir::RoundToBF16(1 + ulp / 2 + 1e-6), 1 + ulp);  // past the tie: up
  EXPECT_EQ(ir::RoundToBF16(-3.14159265), -3.140625);       // 201/64, spacing 1/64
  EXPECT_EQ(ir::RoundToBF16(1e-40), ir::BF16Value(ir::BF16Bits(1e-40f)));  // subnormal kept
  EXPECT_EQ(ir::RoundToBF16(std::numeric_limits<float>::max()),
            std::numeric_limits<double>::infinity());  // above bf16's largest: overflows
  EXPECT_TRUE(std::isnan(ir::RoundToBF16(std::nan(""))));
  EXPECT_EQ(ir::BF16Bits(1.0f), 0x3f80);
  EXPECT_EQ(ir::BF16Value(0xc049), -3.140625f);
}

// x [2,3] and w [3,4], both cast to bf16, multiplied.
ir::Graph CastMatMul(bool ta = false, bool tb = false, int64_t batch = 0, int64_t m = 5,
                     int64_t k = 7, int64_t n = 9) {
  ir::Graph g("castmm");
  ir::Emitter e(g);
  ir::Shape as = ta ? ir::Shape{k, m} : ir::Shape{m, k};
  if (batch) as.insert(as.begin(), batch);
  const ir::Shape bs = tb ? ir::Shape{n, k} : ir::Shape{k, n};
  const ir::ValueId x = e.Decl(Op::kInput, ir::F32(as), "x");
  const ir::ValueId w = e.Decl(Op::kParam, ir::F32(bs), "w");
  const ir::Attrs bf16 = {{"dtype", std::string("bf16")}};
  const ir::ValueId xb = e.Emit(Op::kCast, {x}, bf16, "x.bf16");
  const ir::ValueId wb = e.Emit(Op::kCast, {w}, bf16, "w.bf16");
  ir::Attrs mm;
  if (ta) mm.Set("transpose_a", true);
  if (tb) mm.Set("transpose_b", true);
  g.AddOutput(e.Emit(Op::kMatMul, {xb, wb}, mm, "y"));
  return g;
}

TEST(BF16, PrintsAndParses) {
  const ir::Graph g = CastMatMul();
  ASSERT_TRUE(ir::Verify(g).ok()) << ir::Verify(g);
  const std::string text = ir::PrintGraph(g);
  EXPECT_TRUE(absl::StrContains(text, "bf16[5,7]")) << text;
  EXPECT_TRUE(absl::StrContains(text, "cast(%x)  dtype=\"bf16\"")) << text;
  auto parsed = ir::ParseGraph(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(ir::PrintGraph(*parsed), text);
}

TEST(BF16, ShapeRulesKeepItAStorageType) {
  const ir::Attrs to_bf16 = {{"dtype", std::string("bf16")}};
  auto ok = ir::InferTypes(Op::kCast, {ir::F32({2, 3})}, to_bf16);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0], ir::BF16({2, 3}));
  auto mm = ir::InferTypes(Op::kMatMul, {ir::BF16({2, 3}), ir::BF16({3, 4})}, {});
  ASSERT_TRUE(mm.ok()) << mm.status();
  EXPECT_EQ((*mm)[0], ir::F32({2, 4}));  // accumulated and stored in f32
  mm = ir::InferTypes(Op::kMatMul, {ir::BF16({2, 3}), ir::BF16({3, 4})}, to_bf16);
  ASSERT_TRUE(mm.ok()) << mm.status();
  EXPECT_EQ((*mm)[0], ir::BF16({2, 4}));  // or rounded as it is stored, when asked

  auto bad = ir::InferTypes(Op::kCast, {ir::F32({2})}, {{"dtype", std::string("i32")}});
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "dtype must be f32 or bf16"));
  bad = ir::InferTypes(Op::kCast, {ir::I32({2})}, to_bf16);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "input must be f32 or bf16"));
  bad = ir::InferTypes(Op::kMatMul, {ir::F32({2, 3}), ir::BF16({3, 4})}, {});
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "rhs must be f32, got bf16[3,4]"))
      << bad.status();
  bad = ir::InferTypes(Op::kMatMul, {ir::F32({2, 3}), ir::F32({3, 4})}, to_bf16);
  EXPECT_TRUE(absl::StrContains(bad.status().message(),
                                "a bf16 result needs bf16 operands, got f32[2,3] and f32[3,4]"))
      << bad.status();
  bad = ir::InferTypes(Op::kMatMul, {ir::BF16({2, 3}), ir::BF16({3, 4})},
                       {{"dtype", std::string("i32")}});
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "must be f32 or bf16, got 'i32'"))
      << bad.status();
  bad = ir::InferTypes(Op::kAdd, {ir::BF16({2}), ir::BF16({2})}, {});
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "lhs must be f32, got bf16[2]"));
}

TEST(BF16, InterpreterRoundsCastsAndAccumulatesInF32) {
  const ir::Graph g = CastMatMul(false, false, 0, 1, 2, 1);
  ir::LiteralMap args = {{"x", ir::Literal(ir::F32({1, 2}), {1.00390625, 3.14159265})},
                         {"w", ir::Literal(ir::F32({2, 1}), {1.0, 1.0})}};
  auto out = ir::Interpret(g, args);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].data[0], 1.0 + 3.140625);  // 1 + 2^-8 is a tie: rounds to 1
}

// Every form of the product (transposes, batched with a shared right operand) compiled and
// run against the interpreter: the casts bit-exact, the products to f32 summation order. N = 96
// takes the vdpbf16ps tiles where the CPU has them (codegen/lower_matmul.cc), N = 45 the
// widening kernel.
TEST(BF16, JitGemmsMatchTheInterpreter) {
  for (int64_t n : {45, 96})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int64_t batch : {0, 3}) {
          SCOPED_TRACE(::testing::Message()
                       << "n " << n << " ta " << ta << " tb " << tb << " batch " << batch);
          const ir::Graph g = CastMatMul(ta, tb, batch, 37, 70, n);
          const testing::Mismatch m =
              testing::CompareWithInterpreter(g, testing::RandomArgs(g, 3, 1));
          EXPECT_LT(m.worst_rel, 1e-5) << m.where;
        }
}

// A bf16 GEMM's candidates are both paths where the CPU has vdpbf16ps: the three dot-product
// tiles and the best one or two f32 FMA tiles on the widened operands (the tuner keeps the
// faster; on a CPU whose vdpbf16ps is slow, the f32 tiles). Every one against the interpreter.
// A^T B packs A tile-major for the dot tiles; 37 rows leave a partial tile.
TEST(BF16, GemmCandidatesAreTheDotProductAndTheF32Paths) {
  for (const auto& [ta, tb] : {std::pair{false, false}, {false, true}, {true, false}}) {
    SCOPED_TRACE(ta ? "A^T B" : tb ? "A B^T" : "A B");
    const ir::Graph g = CastMatMul(ta, tb, 0, 37, 70, 96);
    const int variants = testing::ExpectEveryVariantClose(g, 1e-5);
    if (codegen::HostHasBF16Dot()) {
      EXPECT_GE(variants, 3 + 1);
      EXPECT_LE(variants, 3 + 2);
    } else {
      EXPECT_GE(variants, 2) << "f32 tiles only: this CPU has no avx512_bf16";
    }
  }
}

// A^T B also swapped, as (B^T A)^T, on the dot tiles: a narrow result (29 columns, no
// whole vector: no plain dot tile fits) gets them through the swap, with partial tiles both
// ways (80 = 2.5 tiles of 32, 29 rows of 6 and 8) and the transposed copy's edges.
TEST(BF16, ATransposedBHasSwappedDotCandidates) {
  if (!codegen::HostHasBF16Dot()) GTEST_SKIP() << "this CPU has no avx512_bf16";
  const ir::Graph g = CastMatMul(true, false, 0, 80, 70, 29);
  const int variants = testing::ExpectEveryVariantClose(g, 1e-5);
  EXPECT_GE(variants, 2 + 1);  // two swapped dot tiles, one or two f32 ones
  const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(g, g.nodes().back());
  int swapped = 0;
  for (int v = 0; v < variants; ++v) {
    auto k = testing::SharedCompiler().Build(spec, v);
    ASSERT_TRUE(k.ok()) << k.status();
    swapped += absl::StartsWith((*k)->schedule, "swapped bf16 dot ");
  }
  EXPECT_EQ(swapped, 2);
}

nn::GptGraph Tiny(bool bias = true) {
  GptConfig config = *PresetConfig("tiny");
  config.bias = bias;
  auto m = nn::BuildGpt(config);
  EXPECT_TRUE(m.ok());
  return *m;
}

// The tiny GPT's train step with bf16 GEMMs, planned or with one buffer per value.
absl::StatusOr<ir::Graph> TinyBf16Step(bool plan, bool bias = true) {
  passes::StepOptions o;
  o.gemm_dtype = DType::kBF16;
  o.plan = plan;
  return passes::BuildTrainStep(Tiny(bias).graph, o);
}

// The pass: every GEMM reads bf16 operands; each value is cast once, however many GEMMs
// read it (a weight: its forward product and its input gradient; an activation: its forward
// product and its weight gradient, which reads it through a [B*T, C] reshape of the copy).
TEST(MixedPrecision, EveryGemmReadsBF16AndEachValueIsCastOnce) {
  auto g = TinyBf16Step(false);
  ASSERT_TRUE(g.ok()) << g.status();
  int gemms = 0, casts = 0, saved = 0, recomputed = 0, attention = 0, loaded = 0, narrowed = 0;
  std::set<ir::ValueId> cast_sources;
  for (const ir::Node& n : g->nodes()) {
    if (n.op == Op::kCausalAttention || n.op == Op::kCausalAttentionGrad) {
      ++attention;
      for (int i : {0, 1, 2})  // views of the qkv projection's one bf16 copy
        EXPECT_EQ(g->value(n.inputs[i]).type.dtype, DType::kBF16) << ir::OpName(n.op);
      int rounded = 0;  // the body's mixed-precision form: p (and dy, dscores) rounded
      for (const ir::Node& b : n.body->nodes()) rounded += b.op == Op::kCast;
      // The forward's output is stored in bf16 too (the projection reads it through the
      // transpose into [B, T, C]; SinkCastsThroughLayouts): its body ends in that cast.
      // The backward's results stay f32 (with biases the bias gradient reads them through
      // the concat of dq, dk and dv), and it writes bf16 copies of all three besides, which
      // the GEMMs read through the same concat in bf16.
      const bool forward = n.op == Op::kCausalAttention;
      EXPECT_EQ(rounded, forward ? 1 + 1 : 3 + 3);
      EXPECT_EQ(g->value(n.outputs[0]).type.dtype, forward ? DType::kBF16 : DType::kF32);
      EXPECT_EQ(n.outputs.size(), forward ? 1u : 6u);
    }
    if (n.op == Op::kMatMul || n.op == Op::kMatMulBias) {
      ++gemms;
      for (int i : {0, 1}) {
        EXPECT_EQ(g->value(n.inputs[i]).type.dtype, DType::kBF16) << g->value(n.outputs[0]).name;
        const Op from = g->node(g->value(n.inputs[i]).producer).op;
        EXPECT_TRUE(from == Op::kCast || from == Op::kReshape || from == Op::kConcat ||
                    ir::HasTrait(from, ir::kStoresBF16))
            << ir::OpName(from);
      }
      // A GEMM result stored in bf16 (NarrowGemmResults): read only by kernels that widen it.
      if (n.op == Op::kMatMul && g->value(n.outputs[0]).type.dtype == DType::kBF16) {
        ++narrowed;
        for (const ir::Node& r : g->nodes())
          if (std::count(r.inputs.begin(), r.inputs.end(), n.outputs[0]))
            EXPECT_TRUE(ir::HasTrait(r.op, ir::kLoadsBF16)) << ir::OpName(r.op);
      }
    }
    // A bf16 operand a kernel widens as it reads it (LoadCastsInConsumers).
    if (ir::HasTrait(n.op, ir::kLoadsBF16))
      for (ir::ValueId v : n.inputs) loaded += g->value(v).type.dtype == DType::kBF16;
    // A rounding: a cast, or a result its producer stores in bf16 (the LayerNorm and GELU
    // outputs the GEMMs read; StoreCastsInProducers).
    std::vector<ir::ValueId> rounded;
    if (n.op == Op::kCast) rounded.push_back(n.outputs[0]);
    if (ir::HasTrait(n.op, ir::kStoresBF16))
      for (ir::ValueId v : n.outputs)
        if (g->value(v).type.dtype == DType::kBF16) rounded.push_back(v);
    for (ir::ValueId v : rounded) {
      const std::string& name = g->value(v).name;
      if (absl::EndsWith(name, ".recomputed")) {  // GELU's output, made again for backward
        ++recomputed;
        continue;
      }
      if (!absl::EndsWith(name, ".bf16")) {  // saved for the backward pass, and widened back
        ++saved;
        continue;
      }
      ++casts;
      if (n.op == Op::kCast) {
        EXPECT_TRUE(cast_sources.insert(n.inputs[0]).second)
            << g->value(n.inputs[0]).name << " is cast twice";
      }
    }
  }
  // tiny: 2 layers x 4 linear layers + the head = 9 forward GEMMs, 2 backward GEMMs each.
  EXPECT_EQ(gemms, 27);
  // Operands: per linear layer its weight, its input and its output gradient; the head's
  // weight (the tied embedding), input and logits gradient. 2 x 4 x 3 + 3; and per layer the
  // qkv projection, whose bf16 copy both attention kernels read (q, k and v its views). The
  // qkv gradient (an operand) is rounded as three copies, of dq, dk and dv, not one cast of
  // their concat: two more per layer.
  EXPECT_EQ(casts, 27 + 2 + 2 * 2);
  EXPECT_EQ(attention, 2 * 2);
  // Stored in bf16 by its GEMM, per layer: the MLP's pre-activation (kept for the backward
  // pass), read in bf16 by the forward GELU, its recomputation and its backward kernel.
  EXPECT_EQ(narrowed, 2);
  EXPECT_EQ(saved, 0);
  EXPECT_EQ(loaded, 2 * 3);
  // And per layer the GELU output the projection's weight gradient reads, recomputed.
  EXPECT_EQ(recomputed, 2);
  // fp32 keeps no casts.
  auto f32 = passes::BuildTrainStep(Tiny().graph, passes::StepOptions());
  ASSERT_TRUE(f32.ok());
  for (const ir::Node& n : f32->nodes()) EXPECT_NE(n.op, Op::kCast);
}

// The bf16 train step, planned, prints and reads back byte for byte (fused nodes whose
// operands the pass replaced name their body's inputs after the new operands).
TEST(MixedPrecision, TrainStepReadsBack) {
  auto g = TinyBf16Step(true);
  ASSERT_TRUE(g.ok()) << g.status();
  const std::string text = ir::PrintGraph(*g);
  auto parsed = ir::ParseGraph(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(ir::Verify(*parsed).ok());
  EXPECT_EQ(ir::PrintGraph(*parsed), text);
}

// The planned bf16 train step in the plan's memory, with dead buffers poisoned, computes
// exactly what it computes with a Literal per value: the plan sizes and places 2-byte values
// right (a bf16 value over half of a live f32 one would read back as NaN).
TEST(MixedPrecision, PlannedMemoryHoldsTwoByteValues) {
  const nn::GptGraph model = Tiny();
  auto train = TinyBf16Step(true);
  ASSERT_TRUE(train.ok()) << train.status();
  using M = ir::InterpOptions::Memory;
  std::vector<double> losses[2];
  ir::LiteralMap states[2];
  int k = 0;
  for (M memory : {M::kValues, M::kPoisoned}) {
    ir::LiteralMap state = InitParams(model.params, 5);
    for (ir::ValueId v : train->States())
      state[train->value(v).name] = ir::Literal(train->value(v).type);
    ir::InterpOptions io;
    io.memory = memory;
    Rng rng(9);
    for (int step = 1; step <= 2; ++step) {
      ir::Literal tokens(ir::I32({4, 32})), targets(ir::I32({4, 32}));
      for (double& x : tokens.data) x = static_cast<double>(rng.UniformInt(65));
      for (double& x : targets.data) x = static_cast<double>(rng.UniformInt(65));
      ir::LiteralMap in = {{"tokens", tokens},
                           {"targets", targets},
                           {"lr", ir::Literal(ir::F32({}), {1e-3})},
                           {"step", ir::Literal(ir::F32({}), {double(step)})}};
      auto out = ir::InterpretStep(*train, state, in, io);
      ASSERT_TRUE(out.ok()) << out.status();
      losses[k].push_back((*out)[0].data[0]);
    }
    states[k++] = state;
  }
  EXPECT_TRUE(std::isfinite(losses[0].back()));
  EXPECT_EQ(losses[1], losses[0]);
  for (const auto& [name, lit] : states[0]) EXPECT_EQ(states[1].at(name).data, lit.data) << name;
}

using testing::RelativeMaxDiff;

// The tiny GPT's loss and every parameter gradient with bf16 GEMM operands, interpreted and
// compiled, against the fp32 PyTorch fixture. Tolerance: each operand carries a relative
// rounding error up to 2^-9 (bf16's half ulp), so one product is off by up to ~2^-8 relative
// and the errors of K terms partly cancel; through two blocks and the head, gradients agree
// with fp32 to within 0.53% of the tensor's largest element (measured worst; the best
// tensor 0.11%). The bound 2e-2 leaves ~4x; the lower bound 1e-4 (fp32's own tolerance)
// shows the products really were rounded.
TEST(MixedPrecision, TinyGradientsAgainstTheFp32TorchFixture) {
  auto fix = testing::ReadFixture(testing::TestDataPath("gpt_tiny_torch.fix"));
  ASSERT_TRUE(fix.ok()) << fix.status();
  const nn::GptGraph model = Tiny();
  auto grads = passes::Autodiff(*passes::SelectOutputs(model.graph, {"loss"}));
  ASSERT_TRUE(grads.ok());
  auto g = passes::CastGemmOperands(*grads, DType::kBF16);
  ASSERT_TRUE(g.ok()) << g.status();
  ir::LiteralMap args;
  for (const ParamSpec& p : model.params) args[p.name] = fix->at(p.name);
  args["tokens"] = fix->at("tokens");
  args["targets"] = fix->at("targets");
  auto interp = ir::Interpret(*g, args);
  ASSERT_TRUE(interp.ok()) << interp.status();

  StateStore store;
  auto ex = Executable::Create(*g, testing::SharedCompiler(), store);
  ASSERT_TRUE(ex.ok()) << ex.status();
  for (const ParamSpec& p : model.params) ASSERT_TRUE(store.Set(p.name, fix->at(p.name)).ok());
  ASSERT_TRUE((*ex)->SetInput("tokens", fix->at("tokens")).ok());
  ASSERT_TRUE((*ex)->SetInput("targets", fix->at("targets")).ok());
  auto jit = (*ex)->Run();
  ASSERT_TRUE(jit.ok()) << jit.status();

  const double loss = fix->at("loss").data[0];
  EXPECT_LT(std::abs((*interp)[0].data[0] - loss) / loss, 1e-2);
  EXPECT_LT(std::abs((*jit)[0].data[0] - loss) / loss, 1e-2);
  double worst = 0, least = 1;
  for (size_t i = 0; i < model.params.size(); ++i) {
    const std::string& name = model.params[i].name;
    const ir::Literal& want = fix->at("grad." + name);
    const double ri = RelativeMaxDiff((*interp)[1 + i], want);
    const double rj = RelativeMaxDiff((*jit)[1 + i], want);
    EXPECT_LT(ri, 2e-2) << name;
    EXPECT_LT(rj, 2e-2) << name;
    // The JIT against the bf16 interpreter: the same roundings, up to f32 summation order
    // carrying a value across a rounding boundary now and then.
    EXPECT_LT(RelativeMaxDiff((*jit)[1 + i], (*interp)[1 + i]), 5e-3) << name;
    worst = std::max({worst, ri, rj});
    least = std::min(least, ri);
  }
  EXPECT_GT(worst, 1e-4);
  RecordProperty("worst_grad_rel", std::to_string(worst));
  RecordProperty("least_grad_rel", std::to_string(least));
  std::cout << "bf16 vs fp32 torch: worst gradient " << worst << ", best " << least << "\n";
}

// Planned activation memory: the bf16 train step's arena against the fp32 one.
TEST(MixedPrecision, PlannedArenaIsSmallerThanFp32) {
  const GptConfig cfg = *PresetConfig("shakespeare-cpu");
  auto model = nn::BuildGpt(cfg);
  ASSERT_TRUE(model.ok());
  passes::StepOptions f32, bf16;
  bf16.gemm_dtype = DType::kBF16;
  auto a = passes::BuildTrainStep(model->graph, f32);
  auto b = passes::BuildTrainStep(model->graph, bf16);
  ASSERT_TRUE(a.ok() && b.ok());
  const passes::MemoryReport ra = passes::AnalyzePlan(*a), rb = passes::AnalyzePlan(*b);
  std::cout << "planned arena: fp32 " << ra.planned_bytes << " bytes, bf16 " << rb.planned_bytes
            << " (" << 100.0 * rb.planned_bytes / ra.planned_bytes << "%)\n";
  // Measured 61.5% (58.8% at baby; the issue asks for 60%): the f32 residual stream and the
  // backward pass's transient f32 GEMM results are what remains (see docs/passes.md, "Mixed
  // precision").
  EXPECT_LT(rb.planned_bytes, 0.65 * ra.planned_bytes);
}

// The whole bf16 train step as the runtime builds it (fused, saved activations in bf16; one
// buffer per value, so that every value can be compared) compiled, against the interpreter: the
// same roundings, up to f32 summation order moving a value across a bf16 rounding boundary now and
// then (one bf16 ulp is 2^-8 relative).
TEST(MixedPrecision, JitTrainStepMatchesTheInterpreter) {
  auto g = TinyBf16Step(false);
  ASSERT_TRUE(g.ok()) << g.status();
  ir::LiteralMap args = testing::RandomArgs(*g, 7, 65, /*positive=*/true);
  args["step"] = ir::Literal(ir::F32({}), {1.0});
  const testing::Mismatch m = testing::CompareWithInterpreter(*g, args);
  EXPECT_LT(m.worst_rel, 1e-2) << m.where;
  RecordProperty("worst_rel", std::to_string(m.worst_rel));
}

// Without biases the MLP's GELU and its gradient are plain elementwise ops, not bias_gelu:
// they become one-op fusions that store and load bf16 like the fused ops, so the
// pre-activation is kept in bf16 (stored so by its GEMM), the GELU writes its bf16 output
// (and writes it again in the backward pass, from the saved value, rather than keeping it)
// and the GELU backward reads the saved value and writes the bf16 gradient the GEMMs read.
TEST(MixedPrecision, WithoutBiasesTheGeluKernelsStoreAndLoadBF16) {
  auto g = TinyBf16Step(false, /*bias=*/false);
  ASSERT_TRUE(g.ok()) << g.status();
  int gelu_fusions = 0, bf16_gemm_results = 0;
  for (const ir::Node& n : g->nodes()) {
    EXPECT_NE(n.op, Op::kGeluErf);
    EXPECT_NE(n.op, Op::kGeluErfGrad);
    if (n.op == Op::kMatMul && g->value(n.outputs[0]).type.dtype == DType::kBF16)
      ++bf16_gemm_results;
    // Nor does a bias gradient read the qkv gradient: dq, dk and dv are stored in bf16 too.
    if (n.op == Op::kCausalAttention || n.op == Op::kCausalAttentionGrad)
      for (ir::ValueId v : n.outputs) EXPECT_EQ(g->value(v).type.dtype, DType::kBF16);
    if (n.op != Op::kFusion) continue;
    bool gelu = false, widened = false;
    for (const ir::Node& b : n.body->nodes()) {
      gelu |= b.op == Op::kGeluErf || b.op == Op::kGeluErfGrad;
      widened |= b.op == Op::kCast && n.body->value(b.outputs[0]).type.dtype == DType::kF32;
    }
    if (!gelu) continue;
    ++gelu_fusions;
    EXPECT_TRUE(widened) << "reads the bf16 pre-activation";
    EXPECT_EQ(g->value(n.outputs[0]).type.dtype, DType::kBF16) << g->value(n.outputs[0]).name;
  }
  EXPECT_EQ(gelu_fusions, 2 * 3);  // per layer the GELU, its recomputation and its gradient
  // Per layer the pre-activation, and the qkv projection (a plain matmul without a bias,
  // which only a cast reads).
  EXPECT_EQ(bf16_gemm_results, 2 * 2);
}

}  // namespace
}  // namespace gptc
