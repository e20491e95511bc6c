// The decode ops of a KV cache: position_mask and cache_write. Their position is a runtime
// i32[1] operand, so one kernel serves every position.
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

absl::Status Decode(Ctx& c) {
  const ir::Shape& xs = c.spec.inputs[0].shape;
  const int64_t k = xs.back(), rows = std::max<int64_t>(1, ir::NumElements(xs) / k);
  const int64_t rank = static_cast<int64_t>(xs.size());
  Var j("j"), row("r"), ri("ri");
  Func out("out");
  if (c.spec.op == ir::Op::kPositionMask) {  // key j visible to query i when j <= pos + i
    ImageParam x = c.Input(0, {rows, k});
    ImageParam pos = c.Input(1, {1});
    const float fill = static_cast<float>(*c.spec.attrs.GetFloat("fill"));
    const int tq = static_cast<int>(xs[rank - 2]);
    out(j, row) = select(j <= pos(0) + row % tq, x(j, row), fill);
    ScheduleRows(out, j, row, k, rows, c.vec, &ri);
    c.Output(out, {rows, k});
    return absl::OkStatus();
  }
  // cache_write: the cache seen as [outer, T, D], new as [outer, S, D]. The kernel reads each
  // cache element only where it writes it, so the plan may run it in place on the cache.
  const int64_t t = xs[rank - 2], s = c.spec.inputs[1].shape[rank - 2];
  const int64_t outer = ir::NumElements(xs) / (t * k);
  ImageParam cache = c.Input(0, {outer * t, k});
  ImageParam fresh = c.Input(1, {outer, s, k});
  ImageParam pos = c.Input(2, {1});
  // The position is range-checked on the host before a step; the clamp keeps reads in bounds.
  Expr p = clamp(pos(0), 0, static_cast<int>(t - s));
  Expr r = row % static_cast<int>(t), o = row / static_cast<int>(t);  // the cache row and block
  Expr in_slot = r >= p && r < p + static_cast<int>(s);
  out(j, row) =
      select(in_slot, fresh(j, clamp(r - p, 0, static_cast<int>(s - 1)), o), cache(j, row));
  ScheduleRows(out, j, row, k, outer * t, c.vec, &ri);
  c.Output(out, {outer * t, k});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
