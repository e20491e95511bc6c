#include "passes/registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "passes/adamw.h"
#include "passes/autodiff.h"
#include "passes/cse.h"
#include "passes/data_parallel.h"
#include "passes/dce.h"
#include "passes/fuse.h"
#include "passes/kv_cache.h"
#include "passes/mixed_precision.h"
#include "passes/plan.h"

namespace gptc::passes {
namespace {

struct Entry {
  const char* name;
  PassFn run;
};

const std::vector<Entry>& Entries() {
  static const std::vector<Entry> entries = {
      {"autodiff", [](const ir::Graph& g) { return Autodiff(g); }},
      {"all-reduce", AllReduceGradients},
      {"adamw", [](const ir::Graph& g) { return AdamW(g, AdamWOptions()); }},
      {"dce", DeadCodeElimination},
      {"cse", CommonSubexpressionElimination},
      {"fuse", [](const ir::Graph& g) { return Fuse(g, FuseOptions()); }},
      {"bf16", [](const ir::Graph& g) { return CastGemmOperands(g, ir::DType::kBF16); }},
      {"plan", [](const ir::Graph& g) { return Plan(g, PlanOptions()); }},
      {"kv-prefill", [](const ir::Graph& g) { return DeriveKvGraph(g, KvGraph::kPrefill); }},
      {"kv-decode", [](const ir::Graph& g) { return DeriveKvGraph(g, KvGraph::kDecode); }},
  };
  return entries;
}

}  // namespace

std::vector<std::string> RegisteredPasses() {
  std::vector<std::string> names;
  for (const Entry& e : Entries()) names.push_back(e.name);
  return names;
}

absl::StatusOr<PassFn> FindPass(const std::string& name) {
  for (const Entry& e : Entries())
    if (name == e.name) return e.run;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown pass '", name, "'; passes are: ", absl::StrJoin(RegisteredPasses(), ", ")));
}

}  // namespace gptc::passes
