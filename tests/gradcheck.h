// Finite-difference checking of autodiff: the gradient a graph's backward pass computes,
// against central differences of the loss, both in float64 on the interpreter.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "frontend/builder.h"
#include "frontend/param_init.h"
#include "ir/interpreter.h"
#include "ir/rng.h"

namespace gptc::testing {

struct GradCheckResult {
  double max_abs_err = 0;  // over all parameter elements: |analytic - numeric|
  double max_rel_err = 0;  // |analytic - numeric| / max(1, |numeric|)
  int64_t elements = 0;
  std::string worst;  // "param[index]: analytic vs numeric"
};

// Builds `f` over parameters of the given shapes (filled from `seed`; `positive` makes them
// lie in [0.5, 1.5] for log/sqrt/div), reduces its result to loss = sum(out * r) with a fixed
// random r, differentiates, and compares every parameter element with central differences
// (step h). `extra` adds non-parameter inputs (integer ids, targets) by name.
GradCheckResult GradCheck(const std::function<Tensor(Builder&, const std::vector<Tensor>&)>& f,
                          const std::vector<ir::Shape>& param_shapes, uint64_t seed = 1,
                          bool positive = false, const ir::LiteralMap& extra = {}, double h = 1e-6);

// A whole model's gradients: for every parameter p of `forward` (which returns %loss among
// its outputs) and a direction d drawn N(0, 1) from `rng`, in parameter order, grad_p . d
// against (L(theta + h d) - L(theta - h d)) / 2h, both in float64 on the interpreter, within
// 1e-6 relative to max(1e-3, |numeric|). `args` binds every declaration. Failures are gtest
// failures naming the parameter.
void ExpectDirectionalGradients(const ir::Graph& forward, const std::vector<ParamSpec>& params,
                                const ir::LiteralMap& args, Rng& rng, double h);

}  // namespace gptc::testing
