#include "tests/test_graphs.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "frontend/builder.h"
#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/nn/gpt_family.h"
#include "frontend/ops.h"
#include "ir/attrs.h"
#include "ir/check.h"
#include "ir/emitter.h"
#include "ir/verifier.h"
#include "passes/train_graphs.h"

namespace gptc::testing {

ir::Graph AllOpsGraph() {
  Builder b("all_ops");
  Tensor ids = b.Input("ids", ir::I32({2, 3}));
  Tensor table = b.Param("table", ir::F32({5, 4}), ParamInit::Normal(1.0));
  Tensor w = b.Param("w", ir::F32({4}), ParamInit::Ones());
  Tensor bias = b.Param("bias", ir::F32({4}), ParamInit::Zeros());
  Tensor x = Embedding(table, ids);  // (2, 3, 4)
  Tensor c = b.Constant(0.5, ir::F32({2, 3, 4}));
  Tensor e = (x + c) * (x - c) / Exp(-x);
  e = Gelu(Tanh(Sqrt(Exp(Scale(e, 0.25))))) + Log(Exp(x));
  Tensor y = LayerNorm(e, w, bias, 1e-5);
  Tensor mm = MatMul(y, y, {.transpose_b = true});                 // (2, 3, 3)
  Tensor mm2 = MatMul(mm, y, {.transpose_a = true});               // (2, 3, 4)
  Tensor t = Transpose(Reshape(mm2, {2, 3, 2, 2}), {0, 2, 1, 3});  // (2, 2, 3, 2)
  Tensor s = Concat({Slice(t, 3, 0, 1), Slice(t, 3, 1, 2)}, 3);    // (2, 2, 3, 2)
  Tensor r = Sum(s, 3) + Mean(s, 3) + Max(s, 3);                   // (2, 2, 3)
  Tensor p = Softmax(Reshape(r, {2, 3, 2}));
  Tensor att = Softmax(CausalMask(MatMul(y, y, {.transpose_b = true})));  // (2, 3, 3)
  Tensor logits =
      Reshape(Broadcast(Reshape(Sum(p, 2), {3, 2}), {2, 3, 2}) + Slice(att, 2, 0, 2), {2, 3, 2});
  Tensor targets = b.Input("targets", ir::I32({2, 3}));
  Tensor probs = Softmax(logits);
  Tensor loss = CrossEntropy(probs, targets);
  Tensor minimum = b.Apply(ir::Op::kMinimum, {y, Gelu(y)});
  Tensor stepped = b.Apply(ir::Op::kStep, {minimum});
  Tensor expanded =
      b.Apply(ir::Op::kExpand, {Sum(stepped, 0)}, {{"axis", int64_t{1}}, {"size", int64_t{2}}});
  // Every unary and binary op, found by walking ops.def so that a new row is here without
  // being named: on positive operands (the domain of log and sqrt), float attributes 0.5.
  Tensor pos1 = Exp(Scale(y, 0.5)), pos2 = Exp(Scale(y, -0.25));
  Tensor every = pos1;
  for (int i = 0; i < ir::NumOps(); ++i) {
    const ir::Op op = static_cast<ir::Op>(i);
    ir::Attrs attrs;
    if (const char* attr = ir::GetOpInfo(op).attr) attrs.Set(attr, 0.5);
    if (ir::FamilyOf(op) == ir::Family::kUnary) every = every + b.Apply(op, {pos1}, attrs);
    if (ir::FamilyOf(op) == ir::Family::kBinary) every = every + b.Apply(op, {pos1, pos2});
    if (ir::FamilyOf(op) == ir::Family::kTernary)
      every = every + b.Apply(op, {pos1 - pos2, pos1, pos2});
  }
  every = every + b.Iota(pos1.type(), -1) + Gather(table, ids, 0);
  auto g = b.Finish({loss, logits, expanded, every.named("every_elementwise")});
  GPTC_CHECK(g.ok()) << g.status();
  // Ops the DSL does not offer (backward ops, several results, state) are appended directly.
  ir::Emitter em(*g);
  const ir::ValueId yv = y.id(), wv = w.id(), idv = ids.id();
  ir::ValueId dy = em.Emit(ir::Op::kGeluGrad, {yv, yv}, {}, "gelu_grad");
  std::vector<ir::ValueId> ln = em.EmitMulti(ir::Op::kLayerNormGrad, {yv, wv, dy}, {{"eps", 1e-5}},
                                             {"ln_dx", "ln_dw", "ln_db"});
  ir::ValueId sg = em.Emit(ir::Op::kSoftmaxGrad, {att.id(), att.id()}, {}, "softmax_grad");
  ir::ValueId xg =
      em.Emit(ir::Op::kXentGrad, {probs.id(), targets.id(), loss.id()}, {}, "xent_grad");
  ir::ValueId mg = em.Emit(ir::Op::kCausalMask, {sg}, {{"fill", 0.0}}, "mask_grad");
  ir::ValueId eg =
      em.Emit(ir::Op::kEmbeddingGrad, {idv, ln[0]}, {{"rows", int64_t{5}}}, "emb_grad");
  ir::ValueId gg = em.Emit(ir::Op::kGatherGrad, {idv, ln[0]},
                           {{"axis", int64_t{0}}, {"size", int64_t{5}}}, "gather_grad");
  ir::ValueId st = em.Decl(ir::Op::kState, ir::F32({5, 4}), "moment");
  ir::ValueId next = em.Emit(ir::Op::kAdd, {st, eg}, {}, "moment_next");
  g->AddUpdate(st, next);
  // The decode ops of a KV cache: a runtime position, a cache row written, keys masked by it.
  ir::ValueId pos = em.Decl(ir::Op::kInput, ir::I32({1}), "pos");
  ir::ValueId cache = em.Decl(ir::Op::kState, ir::F32({2, 3, 4}), "cache");
  ir::ValueId row =
      em.Emit(ir::Op::kSlice, {yv},
              {{"axis", int64_t{1}}, {"start", int64_t{1}}, {"end", int64_t{2}}}, "row");
  g->AddUpdate(cache, em.Emit(ir::Op::kCacheWrite, {cache, row, pos}, {}, "cache_next"));
  ir::ValueId pm = em.Emit(ir::Op::kPositionMask, {mm.id(), pos}, {{"fill", -1e9}}, "pos_masked");
  ir::ValueId key = em.Decl(ir::Op::kInput, ir::I32({2}), "rng_key");
  ir::ValueId dropped =
      em.Emit(ir::Op::kDropout, {yv, key}, {{"p", 0.25}, {"site", int64_t{3}}}, "dropped");
  // Mixed precision's storage type, there and back.
  ir::ValueId half = em.Emit(ir::Op::kCast, {yv}, {{"dtype", std::string("bf16")}}, "y_bf16");
  ir::ValueId widened = em.Emit(ir::Op::kCast, {half}, {{"dtype", std::string("f32")}}, "y_f32");
  // Data parallelism's gradient mean (the identity on one replica).
  std::vector<ir::ValueId> reduced =
      em.EmitMulti(ir::Op::kAllReduce, {ln[1], ln[2]}, {}, {"ln_dw_mean", "ln_db_mean"});
  for (ir::ValueId v : {ln[1], ln[2], mg, xg, gg, pm, dropped, widened, reduced[0], reduced[1]})
    g->AddOutput(v);
  GPTC_CHECK(ir::Verify(*g).ok()) << ir::Verify(*g);
  return *std::move(g);
}

namespace {

ir::Graph TrainStepOf(const GptConfig& cfg, const passes::StepOptions& o) {
  auto m = nn::BuildGpt(cfg);
  GPTC_CHECK(m.ok()) << m.status();
  auto g = passes::BuildTrainStep(m->graph, o);
  GPTC_CHECK(g.ok()) << g.status();
  return *std::move(g);
}

}  // namespace

ir::Graph TinyTrainStep(bool fuse, double dropout, const std::string& gelu) {
  GptConfig cfg = *PresetConfig("tiny");
  cfg.dropout = dropout;
  cfg.gelu = gelu;
  passes::StepOptions o;
  o.fuse = fuse;
  return TrainStepOf(cfg, o);
}

ir::Graph TinyChunkedTrainStep(bool recompute) {
  passes::StepOptions o;
  o.fusion.xent.min_bytes = 0;
  o.fusion.xent.chunk_bytes = 32 * 65 * 4;
  o.fusion.xent.gradients_with_forward = !recompute;
  return TrainStepOf(*PresetConfig("tiny"), o);
}

Model GptModelOf(const GptConfig& cfg) {
  absl::StatusOr<Model> m = nn::GptModel(cfg);
  GPTC_CHECK(m.ok()) << m.status().message();
  return *std::move(m);
}

std::string F32Type(const std::vector<int64_t>& s) {
  return absl::StrCat("f32[", absl::StrJoin(s, ","), "]");
}

std::string AttentionOpsText(int64_t b, int64_t h, int64_t t, int64_t d, double scale) {
  const std::string x = F32Type({b, h, t, d}), s = F32Type({b, h, t, t});
  const std::string sc = ir::FormatDouble(scale);
  std::ostringstream o;
  o << "  %y = " << x << " causal_attention(%q, %k, %v) scale=" << sc << " {\n"
    << "    %s = " << s << " matmul(%q, %k) transpose_b=true\n"
    << "    %ss = " << s << " scale(%s) factor=" << sc << "\n"
    << "    %m = " << s << " causal_mask(%ss) fill=-inf\n"
    << "    %p = " << s << " softmax(%m)\n"
    << "    %y = " << x << " matmul(%p, %v)\n"
    << "    yield %y\n  }\n"
    << "  %dq, %dk, %dv = " << x << ", " << x << ", " << x
    << " causal_attention_grad(%q, %k, %v, %dy) scale=" << sc << " {\n"
    << "    %s = " << s << " matmul(%q, %k) transpose_b=true\n"
    << "    %ss = " << s << " scale(%s) factor=" << sc << "\n"
    << "    %m = " << s << " causal_mask(%ss) fill=-inf\n"
    << "    %p = " << s << " softmax(%m)\n"
    << "    %dp = " << s << " matmul(%dy, %v) transpose_b=true\n"
    << "    %dv = " << x << " matmul(%p, %dy) transpose_a=true\n"
    << "    %dm = " << s << " softmax_grad(%p, %dp)\n"
    << "    %dss = " << s << " causal_mask(%dm) fill=0.0\n"
    << "    %ds = " << s << " scale(%dss) factor=" << sc << "\n"
    << "    %dq = " << x << " matmul(%ds, %k)\n"
    << "    %dk = " << x << " matmul(%ds, %q) transpose_a=true\n"
    << "    yield %dq, %dk, %dv\n  }\n";
  return o.str();
}

}  // namespace gptc::testing
