// KernelSpec: everything that determines one kernel's code: the op, its attributes and the
// types of its operands and results. Nodes with equal specs share one compiled kernel (the
// layers of a GPT repeat the same shapes). No Halide or LLVM here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace gptc::codegen {

struct KernelSpec {
  ir::Op op;
  ir::Attrs attrs;
  std::vector<ir::TensorType> inputs;
  std::vector<ir::TensorType> outputs;
  std::shared_ptr<const ir::Graph> body;  // fused ops: what the kernel computes
  // Operands and results the memory plan made strided views (element stride per axis);
  // empty for row-major ones. Only ops with the kStrided trait get them.
  std::vector<std::vector<int64_t>> input_strides, output_strides;
  // adamw only: the plan laid the parameters, gradients, first and second moments out as
  // four blocks of identical layout (contiguous, in operand order, no gaps) and the new
  // values in place, so the kernel streams each block in one loop.
  bool adamw_blocked = false;

  static KernelSpec FromNode(const ir::Graph& g, const ir::Node& n);
  // A one-line description, e.g. `matmul(f32[4,32,32], f32[96,32]) -> f32[4,32,96]
  // transpose_b=true`; it is the key of the kernel (together with the schedule version and target).
  // A body is described by structure (ops, attributes, operand positions, types), not by value
  // names, so the same fusion in every layer is one kernel.
  std::string Describe() const;
};

}  // namespace gptc::codegen
