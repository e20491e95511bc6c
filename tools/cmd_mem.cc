// `gptc mem`: what the memory planner does for a model: naive, planned and lower-bound bytes
// of the train and eval steps, persistent bytes by kind, the peak and what is live there,
// and the largest batch that fits a memory budget.
#include <algorithm>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ir/status_macros.h"
#include "nlohmann/json.hpp"
#include "passes/plan_report.h"
#include "passes/train_graphs.h"
#include "runtime/process_memory.h"
#include "tools/arena_svg.h"
#include "tools/commands.h"
#include "tools/fusion_flags.h"
#include "tools/model_flags.h"

namespace gptc::tools {
namespace {

struct Footprint {
  ir::Graph train;
  passes::MemoryReport train_report, eval_report;
  // What a training process holds: parameters, moments, gradients and inputs, one arena as
  // large as the larger of the train and eval steps' (they share it), and the eval inputs.
  int64_t total = 0;
};

// The steps at `batch` rows, built as passes/step_graphs.cc builds them.
absl::StatusOr<Footprint> Measure(const Model& model, int64_t batch,
                                  const passes::StepOptions& step) {
  ASSIGN_OR_RETURN(ForwardGraph training, model.forward({.batch = batch, .training = true}));
  ASSIGN_OR_RETURN(ForwardGraph inference, model.forward({.batch = batch, .training = false}));
  passes::StepOptions quiet = step;
  quiet.fusion.explain = nullptr;
  ASSIGN_OR_RETURN(ir::Graph train, passes::BuildTrainStep(training.graph, step));
  ASSIGN_OR_RETURN(ir::Graph eval, passes::BuildEvalStep(inference.graph, quiet));
  Footprint f{std::move(train), {}, {}, 0};
  f.train_report = passes::AnalyzePlan(f.train);
  f.eval_report = passes::AnalyzePlan(eval);
  const passes::MemoryReport& t = f.train_report;
  const int64_t train_temps = step.plan ? t.planned_bytes : t.naive_bytes;
  const int64_t eval_temps = step.plan ? f.eval_report.planned_bytes : f.eval_report.naive_bytes;
  f.total = t.persistent_total + std::max(train_temps, eval_temps) +
            f.eval_report.persistent_bytes[static_cast<int>(ir::Region::kInput)];
  return f;
}

// "1.5G", "512M", "64K" or a plain number of bytes.
absl::StatusOr<int64_t> ParseBytes(const std::string& s) {
  double mult = 1;
  std::string num = s;
  if (!s.empty()) {
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
    if (u == 'K' || u == 'M' || u == 'G' || u == 'T') {
      mult = u == 'K' ? 1024.0 : u == 'M' ? 1048576.0 : u == 'G' ? 1073741824.0 : 1099511627776.0;
      num = s.substr(0, s.size() - 1);
    }
  }
  double v = 0;
  if (!absl::SimpleAtod(num, &v) || v <= 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "--budget must be a positive size such as 8G, 512M or 1000000, got '", s, "'"));
  return static_cast<int64_t>(v * mult);
}

std::string Mib(int64_t bytes) { return absl::StrFormat("%.2f MiB", bytes / 1048576.0); }

void PrintText(const Model& model, const Footprint& f, int64_t budget, int64_t max_batch,
               int64_t accum) {
  std::cout << "gptc mem: " << model.Summary() << "\n";
  if (accum > 1)
    std::cout << absl::StrFormat(
        "gradient accumulation: %d micro-batches of %d rows per optimiser step (%d rows); the "
        "moments below include their gradient sums\n",
        accum, model.batch_size, accum * model.batch_size);
  std::cout << absl::StrFormat("%-11s %13s %13s %13s %8s %9s %9s\n", "step", "naive", "planned",
                               "lower bound", "frag", "/naive", "/bound");
  for (const passes::MemoryReport* r : {&f.train_report, &f.eval_report}) {
    const double bound =
        r->lower_bound_bytes > 0 ? double(r->planned_bytes) / r->lower_bound_bytes : 0;
    const double naive = r->naive_bytes > 0 ? 100.0 * r->planned_bytes / r->naive_bytes : 0;
    std::cout << absl::StrFormat("%-11s %13s %13s %13s %7.1f%% %8.1f%% %8.3fx\n", r->graph,
                                 Mib(r->naive_bytes), Mib(r->planned_bytes),
                                 Mib(r->lower_bound_bytes), 100 * r->fragmentation, naive, bound);
  }
  const passes::MemoryReport& t = f.train_report;
  std::cout << "persistent: params " << Mib(t.persistent_bytes[int(ir::Region::kParam)])
            << ", grads " << Mib(t.persistent_bytes[int(ir::Region::kGrad)]) << ", moments "
            << Mib(t.persistent_bytes[int(ir::Region::kState)]) << ", inputs "
            << Mib(t.persistent_bytes[int(ir::Region::kInput)]) << " (total "
            << Mib(t.persistent_total) << ")\n";
  std::cout << "train_step: " << t.views << " views, " << t.in_place << " values written in place, "
            << t.copy_kernels << " copy kernels (slice, transpose, concat) left\n";
  if (t.peak_position >= 0) {
    std::cout << "peak of train_step at node " << t.peak_position << ": "
              << t.peak_node.substr(0, 160) << "\n";
    std::cout << "  largest live there:\n";
    for (const auto& [name, bytes] : t.peak_tensors)
      std::cout << absl::StrFormat("    %-44s %s\n", "%" + name, Mib(bytes));
  }
  std::cout << "total for training (persistent + the arena the train and eval steps share): "
            << Mib(f.total) << "\n";
  std::cout << "largest " << (accum > 1 ? "micro-batch" : "batch") << " size within " << Mib(budget)
            << ": " << max_batch << "\n";
}

void PrintJson(const Model& cfg, const Footprint& f, int64_t budget, int64_t max_batch,
               int64_t accum) {
  auto report = [](const passes::MemoryReport& r) {
    nlohmann::ordered_json j;
    j["naive_bytes"] = r.naive_bytes;
    j["planned_bytes"] = r.planned_bytes;
    j["lower_bound_bytes"] = r.lower_bound_bytes;
    j["fragmentation"] = r.fragmentation;
    j["persistent_bytes"] = {{"params", r.persistent_bytes[int(ir::Region::kParam)]},
                             {"grads", r.persistent_bytes[int(ir::Region::kGrad)]},
                             {"moments", r.persistent_bytes[int(ir::Region::kState)]},
                             {"inputs", r.persistent_bytes[int(ir::Region::kInput)]},
                             {"total", r.persistent_total}};
    j["peak_position"] = r.peak_position;
    j["peak_tensors"] = nlohmann::ordered_json::array();
    for (const auto& [name, bytes] : r.peak_tensors)
      j["peak_tensors"].push_back({{"name", name}, {"bytes", bytes}});
    j["views"] = r.views;
    j["in_place"] = r.in_place;
    j["copy_kernels"] = r.copy_kernels;
    return j;
  };
  nlohmann::ordered_json j = {{"config", cfg.name},
                              {"arch", cfg.arch},
                              {"batch_size", cfg.batch_size},
                              {"grad_accum", accum}};
  j.update(report(f.train_report));  // the train step's numbers at the top level
  j["eval"] = report(f.eval_report);
  j["total_bytes"] = f.total;
  j["budget_bytes"] = budget;
  j["max_batch_size"] = max_batch;
  std::cout << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

}  // namespace

int RunMem(const Args& args) {
  FlagSet flags("mem");
  AddModelFlags(flags, "shakespeare-cpu");
  AddFusionFlags(flags);
  flags.String(
      "budget", "",
      "memory budget for the largest batch size (8G, 512M, bytes); default: available memory");
  flags.Int("grad-accum", 1,
            "micro-batches per optimiser step, as gptc train's: the steps below are one "
            "micro-batch's, and the per-parameter gradient sums join the moments");
  flags.Bool("json", false, "print the report as JSON");
  flags.String("svg", "",
               "draw the train step's arena into this SVG file: buffers by execution order and "
               "offset, with axes, the peak and the largest buffers named");
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout
        << "usage: gptc mem [flags]\nReports the memory plan of a model's train and eval steps.\n\n"
        << flags.Usage();
    return 0;
  }
  auto cfg = ModelFromFlags(flags);
  if (!cfg.ok()) return Fail(cfg.status(), 2);
  auto step = StepOptionsFromFlags(flags);
  if (!step.ok()) return Fail(step.status(), 2);
  step->fusion.explain = nullptr;
  const int64_t accum = flags.GetInt("grad-accum");
  if (accum < 1 || accum > 65536)
    return Fail(absl::InvalidArgumentError(
                    absl::StrCat("gptc mem: --grad-accum must be in 1..65536, got ", accum)),
                2);
  step->grad_accum = static_cast<int>(accum);
  int64_t budget = AvailableMemoryBytes();
  if (!flags.GetString("budget").empty()) {
    auto b = ParseBytes(flags.GetString("budget"));
    if (!b.ok()) return Fail(b.status(), 2);
    budget = *b;
  }
  // Validate the budget on the smallest batch before the full report.
  auto smallest = Measure(*cfg, 1, *step);
  if (!smallest.ok()) return Fail(smallest.status());
  if (smallest->total > budget)
    return Fail(absl::ResourceExhaustedError(
        absl::StrCat("--budget ", budget, " bytes (", Mib(budget),
                     ") is too small: training even batch 1 needs ", smallest->total, " bytes (",
                     Mib(smallest->total), ")")));
  auto f = Measure(*cfg, cfg->batch_size, *step);
  if (!f.ok()) return Fail(f.status());
  // The total grows with the batch: find the largest that fits by doubling, then bisection.
  int64_t lo = 1, hi = 2;
  constexpr int64_t kMaxBatch = 1 << 16;
  auto fits = [&](int64_t batch) {
    auto m = Measure(*cfg, batch, *step);
    return m.ok() && m->total <= budget;
  };
  while (hi <= kMaxBatch && fits(hi)) lo = hi, hi *= 2;
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  if (flags.GetBool("json")) {
    PrintJson(*cfg, *f, budget, lo, accum);
  } else {
    PrintText(*cfg, *f, budget, lo, accum);
  }
  if (const std::string svg = flags.GetString("svg"); !svg.empty()) {
    if (auto s = WriteArenaSvg(f->train, svg, cfg->arch + " " + cfg->name + " train step"); !s.ok())
      return Fail(s);
    if (!flags.GetBool("json")) std::cout << "wrote " << svg << "\n";
  }
  return 0;
}

}  // namespace gptc::tools
