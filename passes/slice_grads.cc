#include "passes/slice_grads.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gptc::passes {
namespace {

// grad placed at [start, end) of `axis`, zeros elsewhere; gaps between consecutive pieces
// are zero blocks.
ir::ValueId Place(ir::Emitter& e, ir::ValueId v, const std::vector<SlicePiece>& sorted) {
  const ir::Shape shape = e.type(v).shape;  // a copy: emitting below may reallocate the values
  const int64_t axis = sorted[0].axis;
  const std::string name = "d." + e.graph().value(v).name;
  auto zeros = [&](int64_t len) {
    ir::Shape s = shape;
    s[axis] = len;
    return e.Constant(0.0, ir::F32(s), name + ".zero");
  };
  std::vector<ir::ValueId> parts;
  int64_t at = 0;
  for (const SlicePiece& p : sorted) {
    if (p.start > at) parts.push_back(zeros(p.start - at));
    parts.push_back(p.grad);
    at = p.end;
  }
  if (at < shape[axis]) parts.push_back(zeros(shape[axis] - at));
  if (parts.size() == 1) return parts[0];
  return e.Emit(ir::Op::kConcat, parts, {{"axis", axis}}, name);
}

}  // namespace

std::vector<ir::ValueId> JoinSliceGradients(ir::Emitter& e, ir::ValueId v,
                                            std::vector<SlicePiece> pieces) {
  std::sort(pieces.begin(), pieces.end(),
            [](const SlicePiece& a, const SlicePiece& b) { return a.start < b.start; });
  bool joinable = true;
  for (size_t i = 1; i < pieces.size(); ++i)
    joinable = joinable && pieces[i].axis == pieces[0].axis && pieces[i].start >= pieces[i - 1].end;
  if (joinable) return {Place(e, v, pieces)};
  std::vector<ir::ValueId> out;
  for (const SlicePiece& p : pieces) out.push_back(Place(e, v, {p}));
  return out;
}

}  // namespace gptc::passes
