// Batched matmul and embedding lookup.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ir/interp_kernels.h"

namespace gptc::ir::interp {

namespace {

// Copies a (rows, cols) matrix, transposed if `transpose`, into row-major (cols, rows) form.
void Materialize(const double* src, int64_t rows, int64_t cols, bool transpose, double* dst) {
  if (!transpose) {
    std::copy(src, src + rows * cols, dst);
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

}  // namespace

absl::StatusOr<Literal> MatMul(const Node& n, const Args& in, const TensorType& out) {
  const Literal& a = *in[0];
  const Literal& b = *in[1];
  const bool ta = *n.attrs.GetBool("transpose_a");
  const bool tb = *n.attrs.GetBool("transpose_b");
  const int ra = a.type.rank(), rb = b.type.rank();
  const int64_t m = out.shape[out.rank() - 2], nn = out.shape[out.rank() - 1];
  const int64_t k = ta ? a.shape()[ra - 2] : a.shape()[ra - 1];
  const int64_t batch = NumElements(Shape(out.shape.begin(), out.shape.end() - 2));
  const bool shared_b = rb == 2;
  Literal r(out);
  // Plain i-p-j loops over row-major (M, K) and (K, N) copies: clear, and fast enough for the
  // interpreter's job as an oracle and for training the tiny preset.
  std::vector<double> A(m * k), B(k * nn);
  for (int64_t bi = 0; bi < batch; ++bi) {
    Materialize(a.data.data() + bi * m * k, ta ? k : m, ta ? m : k, ta, A.data());
    if (bi == 0 || !shared_b)
      Materialize(b.data.data() + (shared_b ? 0 : bi * k * nn), tb ? nn : k, tb ? k : nn, tb,
                  B.data());
    double* C = r.data.data() + bi * m * nn;  // (M, N)
    for (int64_t i = 0; i < m; ++i) {
      double* crow = C + i * nn;
      for (int64_t p = 0; p < k; ++p) {
        const double av = A[i * k + p];
        const double* brow = B.data() + p * nn;
        for (int64_t j = 0; j < nn; ++j) crow[j] += av * brow[j];
      }
    }
  }
  return r;
}

absl::StatusOr<Literal> Embedding(const Node& n, const Args& in, const TensorType& out) {
  const Literal& table = *in[0];  // (V, C)
  const Literal& ids = *in[1];    // (...)
  const int64_t v = table.shape()[0], c = table.shape()[1];
  Literal r(out);  // (..., C)
  for (int64_t i = 0; i < ids.size(); ++i) {
    const int64_t id = static_cast<int64_t>(ids.data[i]);
    if (id < 0 || id >= v)
      return absl::OutOfRangeError(
          absl::StrCat("embedding: id ", id, " at flat position ", i, " is outside [0,", v, ")"));
    for (int64_t j = 0; j < c; ++j) r.data[i * c + j] = table.data[id * c + j];
  }
  return r;
}

}  // namespace gptc::ir::interp
