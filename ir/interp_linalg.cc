// Batched matmul and embedding lookup.
#include "absl/strings/str_cat.h"
#include "ir/interp_kernels.h"

namespace gptc::ir::interp {

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
  for (int64_t bi = 0; bi < batch; ++bi) {
    const double* A = a.data.data() + bi * m * k;  // (M, K), or (K, M) if ta
    const double* B = b.data.data() + (shared_b ? 0 : bi * k * nn);  // (K, N), or (N, K) if tb
    double* C = r.data.data() + bi * m * nn;                          // (M, N)
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < nn; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double av = ta ? A[p * m + i] : A[i * k + p];
          const double bv = tb ? B[j * k + p] : B[p * nn + j];
          acc += av * bv;
        }
        C[i * nn + j] = acc;
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
