#include "frontend/nn/rotary.h"

#include <cmath>

#include "frontend/ops.h"

namespace gptc::nn {

Rotary::Rotary(Builder& b, const std::string& path, int64_t block_size, int64_t head_dim,
               double theta) {
  auto scope = b.EnterScope(path);
  const int64_t half = head_dim / 2;
  // angle[t, i] = t * theta^(-2i/D) for i < D/2: Hugging Face's table is this one twice over
  // (emb = cat(freqs, freqs)), so its halves need not be stored twice.
  auto angles = [=](Builder& g) {
    const ir::TensorType t = ir::F32({block_size, half});
    Tensor inv_freq = Exp(Scale(g.Iota(t, 1), -2.0 * std::log(theta) / double(head_dim)));
    return g.Iota(t, 0) * inv_freq;
  };
  cos_ = b.Buffer("cos", [&](Builder& g) { return Cos(angles(g)); });
  sin_ = b.Buffer("sin", [&](Builder& g) { return Sin(angles(g)); });
}

Tensor Rotary::operator()(Tensor x) const {
  if (!x.valid()) return x;
  const int axis = x.rank() - 1;
  const int64_t T = x.dim(axis - 1), D = x.dim(axis);
  // x * cos + rotate_half(x) * sin, half by half: [x1 c - x2 s, x2 c + x1 s]. The same float
  // operations as Hugging Face's (x1 c + (-x2) s is x1 c - x2 s exactly), without a negated
  // copy of x and a full-width concat before the products.
  Tensor x1 = Slice(x, axis, 0, D / 2), x2 = Slice(x, axis, D / 2, D);
  Tensor c = Slice(cos_, 0, 0, T), s = Slice(sin_, 0, 0, T);
  return Concat({x1 * c - x2 * s, x2 * c + x1 * s}, axis);
}

}  // namespace gptc::nn
