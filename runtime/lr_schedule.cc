#include "runtime/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace gptc {

double LrSchedule::At(int64_t it) const {
  if (it < warmup_steps)
    return lr * static_cast<double>(it + 1) / static_cast<double>(warmup_steps + 1);
  if (it > decay_steps) return min_lr;
  const double ratio = static_cast<double>(it - warmup_steps) /
                       static_cast<double>(std::max<int64_t>(1, decay_steps - warmup_steps));
  const double coeff = 0.5 * (1.0 + std::cos(M_PI * ratio));
  return min_lr + coeff * (lr - min_lr);
}

}  // namespace gptc
