#include "runtime/backend.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace gptc {

absl::StatusOr<double> CheckTrainStep(double loss, double grad_norm, int64_t step) {
  if (std::isfinite(loss) && std::isfinite(grad_norm)) return loss;
  const double bad = std::isfinite(loss) ? grad_norm : loss;
  return absl::DataLossError(
      absl::StrFormat("train: the %s is %s at step %d; stopping (this step's parameters are not "
                      "saved, the last checkpoint is "
                      "intact; --check-numerics names the first op that made it)",
                      std::isfinite(loss) ? "gradient norm" : "loss",
                      std::isnan(bad) ? "NaN"
                      : bad > 0       ? "+inf"
                                      : "-inf",
                      step));
}

}  // namespace gptc
