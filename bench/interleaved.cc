#include "bench/interleaved.h"

#include <algorithm>
#include <chrono>

namespace gptc {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

absl::StatusOr<std::vector<double>> InterleavedMedians(
    int contenders, int warmup, int timed, const std::function<absl::Status(int, int)>& run) {
  if (contenders <= 0 || timed <= 0)
    return absl::InvalidArgumentError("a timing needs at least one contender and one timed run");
  std::vector<std::vector<double>> times(contenders);
  for (int i = -warmup; i < timed; ++i)
    for (int k = 0; k < contenders; ++k) {
      const auto start = std::chrono::steady_clock::now();
      if (absl::Status s = run(k, i); !s.ok()) return s;
      if (i >= 0)
        times[k].push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  std::vector<double> medians;
  for (auto& t : times) medians.push_back(Median(std::move(t)));
  return medians;
}

}  // namespace gptc
