// Kernels of the backward ops: the oracle for their Halide lowerings and for autodiff.
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "ir/interp_kernels.h"

namespace gptc::ir::interp {

absl::StatusOr<std::vector<Literal>> LayerNormGrad(const Node& n, const Args& in) {
  const Literal& x = *in[0];   // (N, C)
  const Literal& w = *in[1];   // (C)
  const Literal& dy = *in[2];  // (N, C)
  const double eps = *n.attrs.GetFloat("eps");
  const int64_t c = x.shape().back(), rows = x.size() / c;
  std::vector<Literal> out = {Literal(x.type), Literal(w.type), Literal(w.type)};
  Literal &dx = out[0], &dw = out[1], &db = out[2];
  std::vector<double> xhat(c), dxhat(c);
  for (int64_t row = 0; row < rows; ++row) {
    const double* xr = x.data.data() + row * c;
    const double* dyr = dy.data.data() + row * c;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < c; ++j) mean += xr[j];
    mean /= c;
    for (int64_t j = 0; j < c; ++j) var += (xr[j] - mean) * (xr[j] - mean);
    const double rstd = 1.0 / std::sqrt(var / c + eps);
    double mean_dxhat = 0, mean_dxhat_xhat = 0;
    for (int64_t j = 0; j < c; ++j) {
      xhat[j] = (xr[j] - mean) * rstd;
      dxhat[j] = dyr[j] * w.data[j];
      mean_dxhat += dxhat[j];
      mean_dxhat_xhat += dxhat[j] * xhat[j];
      dw.data[j] += dyr[j] * xhat[j];
      db.data[j] += dyr[j];
    }
    mean_dxhat /= c;
    mean_dxhat_xhat /= c;
    // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    for (int64_t j = 0; j < c; ++j)
      dx.data[row * c + j] = rstd * (dxhat[j] - mean_dxhat - xhat[j] * mean_dxhat_xhat);
  }
  return out;
}

absl::StatusOr<Literal> SoftmaxGrad(const Node& n, const Args& in, const TensorType& out) {
  const Literal& y = *in[0];   // (N, K): the softmax output (masked entries are 0)
  const Literal& dy = *in[1];  // (N, K)
  const int64_t k = y.shape().back(), rows = y.size() / k;
  Literal dx(out);
  for (int64_t row = 0; row < rows; ++row) {
    const double* yr = y.data.data() + row * k;
    const double* dyr = dy.data.data() + row * k;
    double dot = 0;
    for (int64_t j = 0; j < k; ++j) dot += yr[j] * dyr[j];
    for (int64_t j = 0; j < k; ++j) dx.data[row * k + j] = yr[j] * (dyr[j] - dot);
  }
  return dx;
}

absl::StatusOr<Literal> XentGrad(const Node& n, const Args& in, const TensorType& out) {
  const Literal& probs = *in[0];    // (N, V)
  const Literal& targets = *in[1];  // (N)
  const double dloss = in[2]->data[0];
  const int64_t v = probs.shape().back(), rows = targets.size();
  Literal dp(out);  // d(mean -log p[t]) / dp = -1 / (N p[t]) at the target, 0 elsewhere
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t t = static_cast<int64_t>(targets.data[row]);
    if (t < 0 || t >= v)
      return absl::OutOfRangeError(absl::StrCat("xent_grad: target ", t, " at flat position ", row,
                                                " is outside [0,", v, ")"));
    dp.data[row * v + t] = -dloss / (static_cast<double>(rows) * probs.data[row * v + t]);
  }
  return dp;
}

absl::StatusOr<Literal> EmbeddingGrad(const Node& n, const Args& in, const TensorType& out) {
  const Literal& ids = *in[0];  // (...)
  const Literal& dy = *in[1];   // (..., C)
  const int64_t rows = out.shape[0], c = out.shape[1];
  Literal dt(out);  // (rows, C): scatter-add of dy into the rows the ids picked
  for (int64_t i = 0; i < ids.size(); ++i) {
    const int64_t id = static_cast<int64_t>(ids.data[i]);
    if (id < 0 || id >= rows)
      return absl::OutOfRangeError(absl::StrCat("embedding_grad: id ", id, " at flat position ", i,
                                                " is outside [0,", rows, ")"));
    for (int64_t j = 0; j < c; ++j) dt.data[id * c + j] += dy.data[i * c + j];
  }
  return dt;
}

}  // namespace gptc::ir::interp
