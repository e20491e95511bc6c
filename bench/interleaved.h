// Side-by-side timing: contenders run in turn, iteration by iteration, so that load on a
// shared machine hits all of them alike; the medians are what every gptc measurement
// reports (means are pulled about by the machine's hiccups).
#pragma once

#include <functional>
#include <vector>

#include "absl/status/statusor.h"

namespace gptc {

double Median(std::vector<double> v);

// Runs run(contender, iteration) for iterations -warmup .. timed-1, each iteration over every
// contender in order, and returns each contender's median seconds over the timed ones.
absl::StatusOr<std::vector<double>> InterleavedMedians(
    int contenders, int warmup, int timed, const std::function<absl::Status(int, int)>& run);

}  // namespace gptc
