// The lookup family: embedding and gather read rows picked by i32 indices; their gradients
// scatter-add dy back into those rows. Indices are checked on the host before a step (the
// interpreter reports a bad one); the clamps only keep a bad index in bounds.
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

absl::Status EmbeddingKernel(Ctx& c) {  // out[t, c] = table[ids[t], c]
  Var ch("c"), t("t");
  Func out("out");
  const int64_t v = c.spec.inputs[0].shape[0], ch_n = c.spec.inputs[0].shape[1];
  const int64_t n = std::max<int64_t>(1, c.spec.inputs[1].num_elements());
  ImageParam table = c.Input(0, {v, ch_n});
  ImageParam ids = c.Input(1, {n});
  out(ch, t) = table(ch, clamp(ids(t), 0, static_cast<int>(v - 1)));
  Var ti;
  ScheduleRows(out, ch, t, ch_n, n, c.vec, &ti);
  c.Output(out, {n, ch_n});
  return absl::OkStatus();
}

// embedding_grad: dtable[v, c] = sum over t with ids[t] == v of dy[t, c] (scatter-add).
absl::Status EmbeddingGradKernel(Ctx& c) {
  Var ch("c"), t("t");
  Func out("out");
  const int64_t rows = c.spec.outputs[0].shape[0], ch_n = c.spec.outputs[0].shape[1];
  const int64_t n = std::max<int64_t>(1, c.spec.inputs[0].num_elements());
  ImageParam ids = c.Input(0, {n});
  ImageParam dy = c.Input(1, {n, ch_n});
  RDom r(0, static_cast<int>(n), "r");
  out(ch, t) = 0.0f;
  out(ch, clamp(ids(r), 0, static_cast<int>(rows - 1))) += dy(ch, r);
  if (ch_n >= c.vec) {
    // Column blocks are independent, so they run in parallel without write races.
    Var co("co"), ci("ci");
    out.update()
        .split(ch, co, ci, c.vec, TailStrategy::GuardWithIf)
        .reorder(ci, r, co)
        .parallel(co)
        .vectorize(ci);
    out.vectorize(ch, c.vec, TailStrategy::GuardWithIf);
  }
  c.Output(out, {rows, ch_n});
  return absl::OkStatus();
}

// gather: x seen as [outer, len, inner] around the axis, the indices as [m]:
// out[o, j, k] = x[o, idx[j], k].
absl::Status GatherKernel(Ctx& c) {
  const ir::AxisSplit s = ir::SplitAround(c.spec.inputs[0].shape, *c.spec.attrs.GetInt("axis"));
  const int64_t m = std::max<int64_t>(1, c.spec.inputs[1].num_elements());
  ImageParam x = c.Input(0, {s.outer, s.len, s.inner});
  ImageParam idx = c.Input(1, {m});
  Var k("k"), j("j"), o("o");
  Func out("out");
  out(k, j, o) = x(k, clamp(idx(j), 0, static_cast<int>(s.len - 1)), o);
  if (s.inner >= c.vec) {
    out.vectorize(k, c.vec, TailStrategy::GuardWithIf);
  } else if (s.inner == 1 && m >= c.vec) {  // along the last axis: a vector of gathers
    out.vectorize(j, c.vec, TailStrategy::GuardWithIf);
  }
  if (s.outer * m * s.inner >= (1 << 15)) out.parallel(s.outer > 1 ? o : j);
  c.Output(out, {s.outer, m, s.inner});
  return absl::OkStatus();
}

// gather_grad: dx[o, i, k] = sum over j with idx[j] == i of dy[o, j, k]. Different o (or
// different columns k) never write the same element, so they run in parallel.
absl::Status GatherGradKernel(Ctx& c) {
  const ir::AxisSplit s = ir::SplitAround(c.spec.outputs[0].shape, *c.spec.attrs.GetInt("axis"));
  const int64_t m = std::max<int64_t>(1, c.spec.inputs[0].num_elements());
  ImageParam idx = c.Input(0, {m});
  ImageParam dy = c.Input(1, {s.outer, m, s.inner});
  Var k("k"), i("i"), o("o");
  RDom r(0, static_cast<int>(m), "r");
  Func out("out");
  out(k, i, o) = 0.0f;
  out(k, clamp(idx(r), 0, static_cast<int>(s.len - 1)), o) += dy(k, r, o);
  if (s.inner >= c.vec) {
    out.vectorize(k, c.vec, TailStrategy::GuardWithIf);
    out.update().vectorize(k, c.vec, TailStrategy::GuardWithIf);
  }
  if (s.outer > 1 && s.outer * m * s.inner >= (1 << 15)) {
    out.parallel(o);
    out.update().parallel(o);
  }
  c.Output(out, {s.outer, s.len, s.inner});
  return absl::OkStatus();
}

}  // namespace

absl::Status Lookup(Ctx& c) {
  switch (ir::As<ir::LookupOp>(c.spec.op)) {
    case ir::LookupOp::kEmbedding:
      return EmbeddingKernel(c);
    case ir::LookupOp::kEmbeddingGrad:
      return EmbeddingGradKernel(c);
    case ir::LookupOp::kGather:
      return GatherKernel(c);
    case ir::LookupOp::kGatherGrad:
      return GatherGradKernel(c);
  }
  return absl::UnimplementedError("codegen: unknown lookup op");
}

}  // namespace gptc::codegen::lower
