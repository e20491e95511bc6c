// Results measured outside Google Benchmark's own loop (`gptc bench --fusion` times kernels
// side by side itself) written through Google Benchmark's JSONReporter, so that one format,
// the one build/bench/fusion_bench --benchmark_format=json writes, feeds every plot script.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace gptc {

struct BenchRow {  // one benchmark entry
  std::string name;
  double seconds;  // per iteration
  int64_t bytes;   // moved per iteration (0: no bytes_per_second counter)
  std::vector<std::pair<std::string, double>> counters;
};

absl::Status WriteBenchmarkJson(const std::string& path, const std::string& executable,
                                const std::vector<BenchRow>& rows,
                                const std::vector<std::pair<std::string, std::string>>& context,
                                int iterations);

}  // namespace gptc
