#include "bench/benchmark_json.h"

#include <benchmark/benchmark.h>

#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace gptc {

absl::Status WriteBenchmarkJson(const std::string& path, const std::string& executable,
                                const std::vector<BenchRow>& rows,
                                const std::vector<std::pair<std::string, std::string>>& context,
                                int iterations) {
  std::ofstream out(path);
  if (!out) return absl::InvalidArgumentError("cannot write JSON file '" + path + "'");
  for (const auto& [k, v] : context) benchmark::AddCustomContext(k, v);
  benchmark::JSONReporter reporter;
  reporter.SetOutputStream(&out);
  reporter.SetErrorStream(&std::cerr);
  // The reporter keeps a bare pointer to the name, read when the context is reported.
  static std::string name;
  name = executable;
  benchmark::BenchmarkReporter::Context::executable_name = name.c_str();
  if (!reporter.ReportContext(benchmark::BenchmarkReporter::Context()))
    return absl::InternalError("Google Benchmark's JSON reporter refused the context");
  std::vector<benchmark::BenchmarkReporter::Run> report;
  for (const BenchRow& r : rows) {
    benchmark::BenchmarkReporter::Run run;  // (some fields have no default: all are set)
    run.run_name.function_name = r.name;
    run.family_index = static_cast<int64_t>(report.size());
    run.per_family_instance_index = 0;
    run.repetitions = 1;
    run.repetition_index = 0;
    run.threads = 1;
    run.run_type = benchmark::BenchmarkReporter::Run::RT_Iteration;
    run.iterations = iterations;
    run.time_unit = benchmark::kMicrosecond;
    run.real_accumulated_time = r.seconds * iterations;  // reported per iteration
    run.cpu_accumulated_time = r.seconds * iterations;
    if (r.bytes > 0)
      run.counters["bytes_per_second"] =
          benchmark::Counter(static_cast<double>(r.bytes) / r.seconds);
    for (const auto& [k, v] : r.counters) run.counters[k] = benchmark::Counter(v);
    report.push_back(run);
  }
  reporter.ReportRuns(report);
  reporter.Finalize();
  out.close();
  if (!out) return absl::InvalidArgumentError("cannot write JSON file '" + path + "'");
  return absl::OkStatus();
}

}  // namespace gptc
