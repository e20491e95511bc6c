// Dropout on the interpreter: the mask of ir/dropout_mask.h, element by element.
#include "ir/dropout_mask.h"
#include "ir/interp_kernels.h"

namespace gptc::ir::interp {

absl::StatusOr<Literal> Dropout(const Node& n, const Args& in, const TensorType& out) {
  const Literal& x = *in[0];
  const double p = *n.attrs.GetFloat("p");
  const uint32_t site = static_cast<uint32_t>(*n.attrs.GetInt("site"));
  const uint32_t seed = static_cast<uint32_t>(static_cast<int64_t>(in[1]->data[0]));
  const uint32_t step = static_cast<uint32_t>(static_cast<int64_t>(in[1]->data[1]));
  const uint32_t key = DropoutKey(seed, step, site), threshold = DropoutThreshold(p);
  const double scale = 1.0 / (1.0 - p);
  Literal r(out);
  for (int64_t i = 0; i < x.size(); ++i)
    r.data[i] = DropoutKeeps(key, static_cast<uint32_t>(i), threshold) ? x.data[i] * scale : 0.0;
  return r;
}

}  // namespace gptc::ir::interp
