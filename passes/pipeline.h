// Pipeline: runs named graph-to-graph passes in order, verifies the IR after every pass, and
// records per pass its wall time, node counts and whether it changed anything. On request it
// prints the IR after chosen passes and writes numbered dumps (`00-forward.ir`, `01-dce.ir`,
// and `.dot`) so two runs can be diffed.
#pragma once

#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

using PassFn = std::function<absl::StatusOr<ir::Graph>(const ir::Graph&)>;

struct Pass {
  std::string name;
  PassFn run;
};

struct PassStats {
  std::string name;
  double seconds = 0;
  int nodes_before = 0;
  int nodes_after = 0;
  bool changed = false;
};

struct PipelineOptions {
  std::set<std::string> print_after;  // pass names, or "all"; "forward" is the input graph
  std::ostream* print_to = nullptr;   // where print_after goes
  std::string dump_dir;               // empty: no dumps
};

class Pipeline {
 public:
  Pipeline& Add(std::string name, PassFn run);
  // Adds every pass of `other`, in order.
  Pipeline& Append(const Pipeline& other);
  std::vector<std::string> PassNames() const;
  // Checks that every name in `names` is a pass of this pipeline (or "all" / "forward"),
  // else an error listing the valid names.
  absl::Status CheckPassNames(const std::set<std::string>& names) const;

  absl::StatusOr<ir::Graph> Run(const ir::Graph& input, const PipelineOptions& options = {});
  const std::vector<PassStats>& stats() const { return stats_; }
  std::string StatsTable() const;

 private:
  std::vector<Pass> passes_;
  std::vector<PassStats> stats_;
};

}  // namespace gptc::passes
