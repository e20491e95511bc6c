// AdamW as graph ops, appended after autodiff. For every parameter p with a gradient value
// `grad.<p>` (autodiff's naming) it adds the moments `m.<p>` and `v.<p>` as state, and
// updates p, m and v in place (`update` lines). The learning rate and the 1-based step
// number are runtime scalar inputs `%lr` and `%step`, so a schedule never recompiles.
//
//   g      = grad * min(1, clip / (||all grads||_2 + 1e-6))       (global-norm clipping)
//   p      = p - lr * wd * p                                       (rank >= 2 only, as nanoGPT)
//   m      = b1 m + (1 - b1) g;    v = b2 v + (1 - b2) g^2
//   p      = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//
// This is torch.optim.AdamW's arithmetic, in its order. The gradient outputs are removed from
// the graph's outputs (they are consumed here); the other outputs stay, and the global
// gradient norm ||all grads||_2 is added as the last one, `%adamw.grad_norm` (the trainer
// stops on a non-finite one).
#pragma once

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.99;  // nanoGPT's shakespeare_char setting
  double eps = 1e-8;
  double weight_decay = 0.1;
  double clip_norm = 1.0;  // <= 0: no clipping
};

absl::StatusOr<ir::Graph> AdamW(const ir::Graph& g, const AdamWOptions& options = {});

}  // namespace gptc::passes
