// How a generic `fusion` body is laid out as one loop nest: what its kernel
// (codegen/lower_fusion.cc) iterates over and how each body value is indexed. The verifier
// accepts exactly the bodies this describes, and the fuse pass forms only those.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::ir {

struct FusionLayout {
  enum class Kind {
    // Every value has the results' size, is a scalar, or is a broadcast's operand.
    kElementwise,
    // Elementwise, then one reduction over any axis: the body's last op and only result.
    kReduction,
    // Rows: the domain is rows x cols (flat, row-major). A value is full (rows * cols
    // elements), a row value (rows), a scalar, or a broadcast's operand read from memory.
    // Reductions over the last axis take full values to row values, expands along it take
    // row values back, so one kernel holds a norm, a softmax or their gradients. A column
    // sum (a sum over axis 0 of a full value seen as [rows, cols], made of full values read
    // or computed without the row reductions) is a result only: a norm's weight gradient.
    kRows,
  };
  enum class Space { kFull, kRow, kScalar, kOperand, kColumn };
  Kind kind = Kind::kElementwise;
  NodeId reduction = -1;       // kReduction: the reduction
  int64_t rows = 0, cols = 0;  // kRows
  std::vector<Space> space;    // kRows: each body value's
};

// The layout of a generic fusion body, or why it has none.
absl::StatusOr<FusionLayout> LayOutFusion(const Graph& body);

// For the fuse pass and the layout alike: the row length of a reduction or expand along its
// full value's last axis (else -1), and whether a node is a column sum (a sum over axis 0 of
// a rank-2 value).
int64_t RowLength(const Graph& g, const Node& n);
bool IsColumnSum(const Graph& g, const Node& n);

}  // namespace gptc::ir
