// The decode ops (a KV cache's): position_mask and cache_write, with a runtime position.
#include "absl/strings/str_cat.h"
#include "ir/interp_kernels.h"

namespace gptc::ir::interp {

absl::StatusOr<Literal> PositionMask(const Node& n, const Args& in, const TensorType& out) {
  const Literal& x = *in[0];  // (..., Tq, Tk)
  const double fill = *n.attrs.GetFloat("fill");
  const int64_t pos = static_cast<int64_t>(in[1]->data[0]);
  const int64_t k = x.shape().back(), tq = x.shape()[x.type.rank() - 2], rows = x.size() / k;
  Literal r(out);
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t last = pos + row % tq;  // query i sees keys j <= pos + i
    for (int64_t j = 0; j < k; ++j) r.data[row * k + j] = j <= last ? x.data[row * k + j] : fill;
  }
  return r;
}

absl::StatusOr<Literal> CacheWrite(const Node& n, const Args& in, const TensorType& out) {
  (void)n;
  const Literal &cache = *in[0], &fresh = *in[1];  // (..., T, D), (..., S, D)
  const int rank = cache.type.rank();
  const int64_t t = cache.shape()[rank - 2], s = fresh.shape()[rank - 2], d = cache.shape().back();
  const int64_t pos = static_cast<int64_t>(in[2]->data[0]);
  if (pos < 0 || pos + s > t)
    return absl::OutOfRangeError(absl::StrCat("cache_write: rows [", pos, ", ", pos + s,
                                              ") do not fit a cache of ", t, " rows"));
  Literal r = cache;
  r.type = out;
  const int64_t outer = cache.size() / (t * d);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < s * d; ++i) r.data[(o * t + pos) * d + i] = fresh.data[o * s * d + i];
  return r;
}

}  // namespace gptc::ir::interp
