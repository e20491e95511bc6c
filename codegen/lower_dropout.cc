// Dropout: the mask of ir/dropout_mask.h, hashed in Halide's uint32 arithmetic (which wraps
// like C++'s), one flat vectorised loop. The interpreter computes the same bits in C++.
#include "codegen/lower.h"
#include "ir/dropout_mask.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

Expr U32(uint32_t v) { return Internal::make_const(UInt(32), static_cast<uint64_t>(v)); }

Expr Mix(Expr h) {  // DropoutMix
  h = h ^ (h >> 16);
  h = h * U32(0x7feb352du);
  h = h ^ (h >> 15);
  h = h * U32(0x846ca68bu);
  return h ^ (h >> 16);
}

}  // namespace

absl::Status Dropout(Ctx& c) {
  const int64_t n = std::max<int64_t>(1, c.spec.outputs[0].num_elements());
  const double p = *c.spec.attrs.GetFloat("p");
  const uint32_t site = static_cast<uint32_t>(*c.spec.attrs.GetInt("site"));
  Var i("i");
  ImageParam x = c.Input(0, {n});
  ImageParam key = c.Input(1, {2});  // (seed, step), runtime: one kernel for every step
  Expr seed = cast<uint32_t>(key(0)), step = cast<uint32_t>(key(1));
  Expr k = Mix(Mix(seed ^ U32(site * 0x9e3779b9u)) ^ step);  // DropoutKey
  Expr keep = Mix(cast<uint32_t>(i) ^ k) >= U32(ir::DropoutThreshold(p));
  Func f("f");
  f(i) = select(keep, x(i) * static_cast<float>(1.0 / (1.0 - p)), 0.0f);
  ScheduleFlat(f, i, n, c.vec);
  c.Output(f, {n});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
