// Reverse-mode automatic differentiation, graph to graph.
//
// Given a scalar f32 loss (the value named `loss` unless told otherwise) and the values to
// differentiate (every parameter unless told otherwise), appends the backward graph and
// returns the original outputs followed by one gradient per value, named `grad.<value>`.
// Gradients of a value used several times are summed; integer values get none; a value the
// loss does not depend on gets a zero gradient. Every op on the path from those values to the
// loss needs a rule (grad_rules.h); ops without one are reported together in one error.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

struct AutodiffOptions {
  std::string loss = "loss";
  std::vector<std::string> wrt;  // empty: all params, in declaration order
};

absl::StatusOr<ir::Graph> Autodiff(const ir::Graph& g, const AutodiffOptions& options = {});

}  // namespace gptc::passes
