// AdamW's update as IR ops: what passes/adamw.cc appends to a train step, and the body the
// fused `adamw` op must have (the verifier rebuilds it from the node's operands and
// attributes and compares, ir/fused_ops.cc). In one place so the two cannot drift apart.
//
//   g      = grad * min(1, clip / (||all grads||_2 + 1e-6))       (global-norm clipping)
//   p      = p - lr * wd * p                      (parameters declared `param decay` only)
//   m      = b1 m + (1 - b1) g;    v = b2 v + (1 - b2) g^2
//   p      = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//
// torch.optim.AdamW's arithmetic, in its order.
#pragma once

#include <vector>

#include "ir/attrs.h"
#include "ir/emitter.h"

namespace gptc::ir {

struct AdamWHyper {
  double beta1 = 0.9;
  double beta2 = 0.99;  // nanoGPT's shakespeare_char setting
  double eps = 1e-8;
  double weight_decay = 0.1;
  double clip_norm = 1.0;  // <= 0: no clipping

  Attrs ToAttrs() const;
  static AdamWHyper FromAttrs(const Attrs& a);
};

// One parameter's values: the parameter, its gradient and its two moments, and whether
// weight decay applies to it.
struct AdamWSlot {
  ValueId p, g, m, v;
  bool decay = false;
};

struct AdamWResult {
  std::vector<ValueId> p, m, v;  // new values, by slot
  ValueId grad_norm = -1;        // ||all grads||_2
};

// Whether the model declared parameter p as one AdamW decays (`param decay`). The frontend
// decides: nanoGPT's GPT decays its matrices and not its biases and norm weights.
bool ParamDecays(const Graph& g, ValueId p);

// Appends the update of every slot (the norm over all of them first) to e's graph.
AdamWResult EmitAdamWUpdate(Emitter& e, ValueId lr, ValueId step,
                            const std::vector<AdamWSlot>& slots, const AdamWHyper& h);

}  // namespace gptc::ir
