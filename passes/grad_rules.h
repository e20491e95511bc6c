// Gradient rules: for each differentiable op, how the gradient of its result flows to its
// operands, written as new graph nodes. One function per op in grad_rules.cc.
#pragma once

#include <string>
#include <vector>

#include "ir/emitter.h"

namespace gptc::passes {

// What a rule sees of one forward node, and where it puts the operands' gradients.
struct GradContext {
  ir::Emitter& e;
  ir::Node node;                // a copy: the graph grows while rules run
  ir::ValueId y;                // the node's (single) result
  ir::ValueId dy;               // the gradient of the loss with respect to y
  std::vector<bool> needs;      // needs[i]: operand i wants a gradient
  std::vector<ir::ValueId> dx;  // out: gradient for operand i, or -1

  ir::ValueId in(int i) const { return node.inputs[i]; }
  const ir::TensorType& type(ir::ValueId v) const { return e.type(v); }
  // An intermediate node of the rule, named after the result: `d.<y>.<op>`.
  ir::ValueId Tmp(ir::Op op, std::vector<ir::ValueId> ins, ir::Attrs attrs = {});
  // The final gradient of operand i, named `d.<operand>`.
  void Set(int i, ir::Op op, std::vector<ir::ValueId> ins, ir::Attrs attrs = {});
  std::string GradName(int i) const;
};

using GradRule = void (*)(GradContext& c);

// The rule for `op`, or nullptr if the op has none (then autodiff reports it). Ops whose
// gradient is zero wherever it exists (step) have a rule that contributes nothing.
GradRule FindGradRule(ir::Op op);

}  // namespace gptc::passes
