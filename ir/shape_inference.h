// Type (shape and dtype) rules: one case per op. The builder, the parser's users and the
// verifier all call InferTypes, so a shape rule lives in exactly one place.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ir/attrs.h"
#include "ir/op.h"
#include "ir/types.h"

namespace gptc::ir {

// Output types of `op` applied to inputs of the given types, or an error that names the op
// and the shapes at fault, e.g. "matmul: inner dimensions differ (128 vs 384)".
// Declarations (input, param) and constants carry their own type: this returns an error for
// them; the verifier checks those separately.
absl::StatusOr<std::vector<TensorType>> InferTypes(Op op, absl::Span<const TensorType> inputs,
                                                   const Attrs& attrs);

}  // namespace gptc::ir
