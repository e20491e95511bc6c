#include "passes/pipeline.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ir/dot.h"
#include "ir/printer.h"
#include "ir/status_macros.h"
#include "ir/verifier.h"

namespace gptc::passes {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

bool Wanted(const std::set<std::string>& names, const std::string& pass) {
  return names.count("all") > 0 || names.count(pass) > 0;
}

}  // namespace

Pipeline& Pipeline::Add(std::string name, PassFn run) {
  passes_.push_back(Pass{std::move(name), std::move(run)});
  return *this;
}

Pipeline& Pipeline::Append(const Pipeline& other) {
  passes_.insert(passes_.end(), other.passes_.begin(), other.passes_.end());
  return *this;
}

std::vector<std::string> Pipeline::PassNames() const {
  std::vector<std::string> names;
  for (const Pass& p : passes_) names.push_back(p.name);
  return names;
}

absl::Status Pipeline::CheckPassNames(const std::set<std::string>& names) const {
  std::vector<std::string> valid = PassNames();
  valid.insert(valid.begin(), "forward");
  valid.push_back("all");
  for (const std::string& n : names)
    if (std::find(valid.begin(), valid.end(), n) == valid.end())
      return absl::InvalidArgumentError(
          absl::StrCat("unknown pass '", n, "'; valid names: ", absl::StrJoin(valid, ", ")));
  return absl::OkStatus();
}

absl::StatusOr<ir::Graph> Pipeline::Run(const ir::Graph& input, const PipelineOptions& options) {
  RETURN_IF_ERROR(CheckPassNames(options.print_after));
  stats_.clear();
  if (!options.dump_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.dump_dir, ec);
    if (ec)
      return absl::InvalidArgumentError(
          absl::StrCat("cannot create dump directory '", options.dump_dir, "': ", ec.message()));
  }
  auto emit = [&](int index, const std::string& name, const ir::Graph& g) -> absl::Status {
    if (options.print_to && Wanted(options.print_after, name))
      *options.print_to << "// ----- IR after " << name << " -----\n" << ir::PrintGraph(g);
    if (options.dump_dir.empty()) return absl::OkStatus();
    const std::string stem = absl::StrFormat("%s/%02d-%s", options.dump_dir, index, name);
    RETURN_IF_ERROR(WriteFile(stem + ".ir", ir::PrintGraph(g)));
    return WriteFile(stem + ".dot", ir::ToDot(g));
  };
  RETURN_IF_ERROR(ir::Verify(input));
  RETURN_IF_ERROR(emit(0, "forward", input));
  ir::Graph g = input;
  for (size_t i = 0; i < passes_.size(); ++i) {
    const Pass& p = passes_[i];
    const auto start = std::chrono::steady_clock::now();
    auto next = p.run(g);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!next.ok())
      return absl::Status(next.status().code(),
                          absl::StrCat("pass '", p.name, "': ", next.status().message()));
    absl::Status v = ir::Verify(*next);
    if (!v.ok())
      return absl::InternalError(
          absl::StrCat("pass '", p.name, "' produced IR the verifier rejects: ", v.message()));
    const bool changed = ir::PrintGraph(*next) != ir::PrintGraph(g);
    stats_.push_back({p.name, secs, g.num_nodes(), next->num_nodes(), changed});
    g = *std::move(next);
    RETURN_IF_ERROR(emit(static_cast<int>(i + 1), p.name, g));
  }
  return g;
}

std::string Pipeline::StatsTable() const {
  std::string out = absl::StrFormat("%-12s %10s %8s %8s %8s\n", "pass", "time(ms)", "nodes_in",
                                    "nodes_out", "changed");
  for (const PassStats& s : stats_)
    absl::StrAppend(&out, absl::StrFormat("%-12s %10.3f %8d %8d %8s\n", s.name, s.seconds * 1e3,
                                          s.nodes_before, s.nodes_after, s.changed ? "yes" : "no"));
  return out;
}

}  // namespace gptc::passes
