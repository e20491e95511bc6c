// nanoGPT's learning-rate schedule: linear warmup, then cosine decay to min_lr, then flat.
#pragma once

#include <cstdint>

namespace gptc {

struct LrSchedule {
  double lr = 1e-3;
  double min_lr = 1e-4;
  int64_t warmup_steps = 100;
  int64_t decay_steps = 5000;  // the step at which min_lr is reached

  // Learning rate at 0-based iteration `it`.
  double At(int64_t it) const;
};

}  // namespace gptc
