// gather (numpy's take along an axis) and its gradient, a scatter-add. Both see x as
// [outer, len, inner] around the axis and the indices as one flat run of n.
#include "absl/strings/str_cat.h"
#include "ir/interp_kernels.h"
#include "ir/status_macros.h"
#include "ir/types.h"

namespace gptc::ir::interp {
namespace {

// The index at flat position j, checked against the axis' length.
absl::StatusOr<int64_t> Index(const Node& n, const Literal& idx, int64_t j, int64_t len) {
  const int64_t i = static_cast<int64_t>(idx.data[j]);
  if (i < 0 || i >= len)
    return absl::OutOfRangeError(absl::StrCat(OpName(n.op), ": index ", i, " at flat position ", j,
                                              " is outside [0,", len, ")"));
  return i;
}

}  // namespace

absl::StatusOr<Literal> Gather(const Node& n, const Args& in, const TensorType& out) {
  const Literal& x = *in[0];
  const Literal& idx = *in[1];
  const AxisSplit s = SplitAround(x.shape(), *n.attrs.GetInt("axis"));
  const int64_t m = idx.size();
  Literal r(out);  // [outer, m, inner]
  for (int64_t j = 0; j < m; ++j) {
    ASSIGN_OR_RETURN(const int64_t i, Index(n, idx, j, s.len));
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t k = 0; k < s.inner; ++k)
        r.data[(o * m + j) * s.inner + k] = x.data[(o * s.len + i) * s.inner + k];
  }
  return r;
}

absl::StatusOr<Literal> GatherGrad(const Node& n, const Args& in, const TensorType& out) {
  const Literal& idx = *in[0];
  const Literal& dy = *in[1];
  const AxisSplit s = SplitAround(out.shape, *n.attrs.GetInt("axis"));
  const int64_t m = idx.size();
  Literal dx(out);  // zeros, then every dy row added where its index points
  for (int64_t j = 0; j < m; ++j) {
    ASSIGN_OR_RETURN(const int64_t i, Index(n, idx, j, s.len));
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t k = 0; k < s.inner; ++k)
        dx.data[(o * s.len + i) * s.inner + k] += dy.data[(o * m + j) * s.inner + k];
  }
  return dx;
}

}  // namespace gptc::ir::interp
