// The DSL's op functions. Each adds one IR node through the tensors' Builder; shapes are
// checked when called. Axes may be negative (counted from the end), reshape takes one -1.
#pragma once

#include <vector>

#include "frontend/tensor.h"

namespace gptc {

struct MatMulOptions {
  bool transpose_a = false;
  bool transpose_b = false;
};

// [..., M, K] x [..., K, N] -> [..., M, N]; a 2-D right operand is shared over the batch.
Tensor MatMul(Tensor a, Tensor b, MatMulOptions opts = {});
Tensor Reshape(Tensor x, std::vector<int64_t> shape);
Tensor Transpose(Tensor x, std::vector<int64_t> perm);
Tensor Slice(Tensor x, int axis, int64_t start, int64_t end);
Tensor Concat(const std::vector<Tensor>& parts, int axis);
// Repeats x over new leading axes: x's shape must be a suffix of `shape`.
Tensor Broadcast(Tensor x, std::vector<int64_t> shape);
// Inserts a new axis of `size` at `axis` (0 .. rank), repeating x along it: the inverse of a
// reduction's shape, e.g. Expand(Mean(x, -1), -1, C) to divide x by its row means.
Tensor Expand(Tensor x, int axis, int64_t size);
Tensor Sum(Tensor x, int axis);
Tensor Mean(Tensor x, int axis);
Tensor Max(Tensor x, int axis);

// The elementwise ops, one function per row of ir/ops.def (its comments say what each
// computes): Exp(x), Sqrt(x), Gelu(x), Scale(x, factor), Minimum(a, b), Select(c, a, b), ...
// Binary and ternary ops (and + - * /) broadcast by numpy's rules: [B, T, C] * [C],
// [B, T, C] / [B, T, 1]; the stretching becomes explicit broadcast/expand nodes, whose
// gradients sum back.
#define OP_UNARY(name, text, traits) Tensor name(Tensor x);
#define OP_UNARY_ATTR(name, text, traits, attr) Tensor name(Tensor x, double attr_value);
#define OP_BINARY(name, text, traits) Tensor name(Tensor a, Tensor b);
#define OP_TERNARY(name, text, traits) Tensor name(Tensor a, Tensor b, Tensor c);
#include "ir/ops.def"

// table [V, C], ids i32[...] -> [..., C]
Tensor Embedding(Tensor table, Tensor ids);
// numpy's take: x [A..., L, B...] and i32 indices [J...] -> [A..., J..., B...], the rows of
// x along `axis` that the indices pick (a rotary table's rows at some positions). Its
// gradient adds dy back into the picked rows.
Tensor Gather(Tensor x, Tensor indices, int axis);
// Normalises over the last axis, then * weight + bias.
Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, double eps = 1e-5);
// Zeroes each element with probability p and scales the rest by 1 / (1 - p), with a mask
// drawn from the builder's RngKey() (a new site per call); p == 0 returns x unchanged.
Tensor Dropout(Tensor x, double p);
// Softmax over the last axis.
Tensor Softmax(Tensor x);
// x [..., Tq, Tk] with the keys a query may not see (j > i + Tk - Tq) set to -inf.
Tensor CausalMask(Tensor x);
// Mean cross-entropy of probabilities [..., V] against i32 targets [...] -> scalar.
Tensor CrossEntropy(Tensor probs, Tensor targets);
// CrossEntropy(Softmax(logits)): two ops, which the fuse pass turns into one kernel.
Tensor SoftmaxCrossEntropy(Tensor logits, Tensor targets);

}  // namespace gptc
