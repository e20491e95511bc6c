// The gradient of a value read by several slices: the slices' gradients placed where the
// slices read, as few concats as possible. Used by autodiff.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/emitter.h"

namespace gptc::passes {

struct SlicePiece {
  int64_t axis, start, end;
  ir::ValueId grad;  // the gradient of the slice's result
};

// Contributions to the gradient of `v` (to be summed): one concat when the pieces cut the
// same axis without overlapping (zero blocks fill the gaps), else one zero-padded concat per
// piece, as the slice rule alone would give.
std::vector<ir::ValueId> JoinSliceGradients(ir::Emitter& e, ir::ValueId v,
                                            std::vector<SlicePiece> pieces);

}  // namespace gptc::passes
