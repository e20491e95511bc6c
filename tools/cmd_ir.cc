// `gptc ir`: builds a model and prints its IR, optionally after each pass, as DOT, or dumped
// to a directory for diffing.
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/str_split.h"
#include "ir/dot.h"
#include "ir/printer.h"
#include "passes/step_graphs.h"
#include "tools/commands.h"
#include "tools/fusion_flags.h"
#include "tools/model_flags.h"

namespace gptc::tools {
namespace {

// Renders DOT to SVG with Graphviz when `dot` is installed; argv is passed without a shell.
bool RenderSvg(const std::string& dot_path, const std::string& svg_path) {
  std::string out_flag = "-o" + svg_path;
  char* argv[] = {const_cast<char*>("dot"), const_cast<char*>("-Tsvg"),
                  const_cast<char*>(dot_path.c_str()), out_flag.data(), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "dot", nullptr, nullptr, argv, environ) != 0) return false;
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int RunIr(const Args& args) {
  FlagSet flags("ir");
  AddModelFlags(flags, "tiny");
  flags.String("graph", "train",
               "pipeline to run: train (autodiff, adamw, dce, cse, fuse, plan), eval (dce, cse, "
               "fuse, plan), "
               "or the KV-cache sampling graphs at batch 1: prefill (kv-prefill, dce, cse, fuse, "
               "plan) or decode "
               "(kv-decode, dce, cse, fuse, plan)");
  flags.String("print-after", "forward",
               "comma list of passes (forward, autodiff, adamw, kv-prefill, kv-decode, dce, cse, "
               "fuse, plan, all, "
               "or none) to print the IR after");
  AddFusionFlags(flags);
  flags.String("dump-dir", "", "write NN-pass.ir and NN-pass.dot after every pass here");
  flags.String("dot", "", "write the final graph as Graphviz DOT to this file");
  flags.Bool("stats", false, "print time and node counts per pass");
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc ir [flags]\nPrints the model's graph IR.\n\n" << flags.Usage();
    return 0;
  }
  auto cfg = ModelFromFlags(flags);
  if (!cfg.ok()) return Fail(cfg.status(), 2);
  const std::string which = flags.GetString("graph");
  const bool kv = which == "prefill" || which == "decode";
  if (which != "train" && which != "eval" && !kv)
    return Fail(absl::InvalidArgumentError("--graph must be train, eval, prefill or decode, got '" +
                                           which + "'"),
                2);
  auto step = StepOptionsFromFlags(flags);
  if (!step.ok()) return Fail(step.status(), 2);
  // As passes/step_graphs.cc builds them: sampling runs one sequence, and only training has
  // dropout.
  auto model = cfg->forward({.batch = kv ? 1 : cfg->batch_size, .training = which == "train"});
  if (!model.ok()) return Fail(model.status());
  const passes::KvGraph kv_graph =
      which == "decode" ? passes::KvGraph::kDecode : passes::KvGraph::kPrefill;
  passes::Pipeline pipeline = which == "train"  ? passes::TrainPipeline(*step)
                              : which == "eval" ? passes::EvalPipeline(*step)
                                                : passes::KvPipeline(kv_graph, *step);
  // The pipelines start from the forward graph exactly as the runtime builds its steps
  // (passes/step_graphs.cc): the loss as its only output, or the logits for sampling.
  auto input =
      kv ? passes::KvPipelineInput(model->graph) : passes::SelectOutputs(model->graph, {"loss"});
  if (!input.ok()) return Fail(input.status());
  input->set_name(kv ? which + "_step" : which == "train" ? "train_step" : "eval_step");
  passes::PipelineOptions opts;
  const std::string print_after = flags.GetString("print-after");
  for (absl::string_view p : absl::StrSplit(print_after, ',', absl::SkipEmpty()))
    if (p != "none") opts.print_after.insert(std::string(p));
  opts.print_to = &std::cout;
  opts.dump_dir = flags.GetString("dump-dir");
  if (auto s = pipeline.CheckPassNames(opts.print_after); !s.ok()) return Fail(s, 2);
  auto result = pipeline.Run(*input, opts);
  if (!result.ok()) return Fail(result.status());
  if (flags.GetBool("stats")) std::cout << pipeline.StatsTable();

  if (const std::string dot = flags.GetString("dot"); !dot.empty()) {
    std::ofstream out(dot);
    out << ir::ToDot(*result);
    out.close();
    if (!out) return Fail(absl::InvalidArgumentError("cannot write DOT file '" + dot + "'"));
    std::cerr << "gptc: wrote " << dot;
    // Graphviz layout time grows fast with size: large graphs are left for the user to render.
    constexpr int kMaxNodesToRender = 400;
    if (result->num_nodes() > kMaxNodesToRender) {
      std::cerr << "; " << result->num_nodes()
                << " nodes is slow to lay out, render it with: dot -Tsvg " << dot << " -o " << dot
                << ".svg";
    } else if (RenderSvg(dot, dot + ".svg")) {
      std::cerr << " and rendered " << dot << ".svg";
    }
    std::cerr << std::endl;
  }
  return 0;
}

}  // namespace gptc::tools
