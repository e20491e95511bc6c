#include "frontend/nn/rotary.h"

#include <cmath>

#include "frontend/ops.h"

namespace gptc::nn {

Rotary::Rotary(Builder& b, const std::string& path, int64_t block_size, int64_t head_dim,
               double theta) {
  auto scope = b.EnterScope(path);
  const int64_t half = head_dim / 2;
  // angle[t, i] = t * theta^(-2i/D) for i < D/2, repeated for the second half (HF's emb).
  auto angles = [=](Builder& g) {
    const ir::TensorType t = ir::F32({block_size, half});
    Tensor inv_freq = Exp(Scale(g.Iota(t, 1), -2.0 * std::log(theta) / double(head_dim)));
    Tensor a = g.Iota(t, 0) * inv_freq;
    return Concat({a, a}, 1);
  };
  cos_ = b.Buffer("cos", [&](Builder& g) { return Cos(angles(g)); });
  sin_ = b.Buffer("sin", [&](Builder& g) { return Sin(angles(g)); });
}

Tensor Rotary::operator()(Tensor x) const {
  if (!x.valid()) return x;
  const int axis = x.rank() - 1;
  const int64_t T = x.dim(axis - 1), D = x.dim(axis);
  Tensor rotated = Concat({Scale(Slice(x, axis, D / 2, D), -1.0), Slice(x, axis, 0, D / 2)}, axis);
  return x * Slice(cos_, 0, 0, T) + rotated * Slice(sin_, 0, 0, T);
}

}  // namespace gptc::nn
