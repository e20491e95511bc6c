// Reductions, layernorm, softmax and cross-entropy.
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "ir/interp_kernels.h"

namespace gptc::ir::interp {

absl::StatusOr<Literal> Reduce(const Node& n, const Args& in, const TensorType& out) {
  const Literal& x = *in[0];
  const int axis = static_cast<int>(*n.attrs.GetInt("axis"));
  const AxisSplit split = SplitAround(x.shape(), axis);
  const int64_t outer = split.outer, len = split.len, inner = split.inner;
  Literal r(out);  // (outer, inner)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      double acc = n.op == Op::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
      for (int64_t a = 0; a < len; ++a) {
        const double v = x.data[(o * len + a) * inner + i];
        acc = n.op == Op::kMax ? std::max(acc, v) : acc + v;
      }
      if (n.op == Op::kMean) acc /= static_cast<double>(len);
      r.data[o * inner + i] = acc;
    }
  }
  return r;
}

absl::StatusOr<Literal> LayerNorm(const Node& n, const Args& in, const TensorType& out) {
  const Literal& x = *in[0];  // (N, C)
  const Literal& w = *in[1];  // (C)
  const Literal& b = *in[2];  // (C)
  const double eps = *n.attrs.GetFloat("eps");
  const int64_t c = x.shape().back(), rows = x.size() / c;
  Literal r(out);
  for (int64_t row = 0; row < rows; ++row) {
    const double* xr = x.data.data() + row * c;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < c; ++j) mean += xr[j];
    mean /= c;
    for (int64_t j = 0; j < c; ++j) var += (xr[j] - mean) * (xr[j] - mean);
    var /= c;  // biased, as PyTorch's LayerNorm
    const double rstd = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < c; ++j)
      r.data[row * c + j] = (xr[j] - mean) * rstd * w.data[j] + b.data[j];
  }
  return r;
}

absl::StatusOr<Literal> Softmax(const Node& n, const Args& in, const TensorType& out) {
  const Literal& x = *in[0];  // (..., K); -inf entries (a causal mask) get probability 0
  const int64_t k = x.shape().back(), rows = x.size() / k;
  Literal r(out);
  for (int64_t row = 0; row < rows; ++row) {
    const double* xr = x.data.data() + row * k;
    double* yr = r.data.data() + row * k;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < k; ++j) mx = std::max(mx, xr[j]);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += (yr[j] = std::exp(xr[j] - mx));
    for (int64_t j = 0; j < k; ++j) yr[j] /= sum;
  }
  return r;
}

absl::StatusOr<Literal> CausalMask(const Node& n, const Args& in, const TensorType& out) {
  const Literal& x = *in[0];  // (..., Tq, Tk)
  const double fill = *n.attrs.GetFloat("fill");
  const int64_t k = x.shape().back(), tq = x.shape()[x.type.rank() - 2], rows = x.size() / k;
  Literal r(out);
  for (int64_t row = 0; row < rows; ++row) {
    // Query i sees keys j <= i + (Tk - Tq): with a KV cache the queries are the last Tq.
    const int64_t visible = (row % tq) + (k - tq) + 1;
    for (int64_t j = 0; j < k; ++j) r.data[row * k + j] = j < visible ? x.data[row * k + j] : fill;
  }
  return r;
}

absl::StatusOr<Literal> Xent(const Node& n, const Args& in, const TensorType& out) {
  const Literal& probs = *in[0];    // (N, V)
  const Literal& targets = *in[1];  // (N)
  const int64_t v = probs.shape().back(), rows = targets.size();
  double total = 0;
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t t = static_cast<int64_t>(targets.data[row]);
    if (t < 0 || t >= v)
      return absl::OutOfRangeError(
          absl::StrCat("xent: target ", t, " at flat position ", row, " is outside [0,", v, ")"));
    total -= std::log(probs.data[row * v + t]);
  }
  Literal r(out);
  r.data[0] = total / static_cast<double>(rows);
  return r;
}

}  // namespace gptc::ir::interp
