// `gptc opt`: the IR as a file format, as LLVM's opt and mlir-opt treat theirs. Reads IR text
// (a file, or - for stdin), verifies it, runs the named passes (verifying after each), prints
// the result, and optionally runs it on random inputs.
//
//   gptc ir --config=tiny --dump-dir=dumps && gptc opt dumps/00-forward.ir
//   --passes=autodiff,adamw,dce
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/kernel_compiler.h"
#include "ir/id_limits.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/read_file.h"
#include "ir/rng.h"
#include "ir/status_macros.h"
#include "ir/verifier.h"
#include "passes/registry.h"
#include "runtime/executable.h"
#include "tools/commands.h"
#include "tools/compiler_flags.h"
#include "tools/model_flags.h"

namespace gptc::tools {
namespace {

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::optional<std::string> file = ir::ReadFile(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open IR file '", path, "'"));
  return *std::move(file);
}

// Random values for every declaration: floats N(0, 1), integers inside the range the ops that
// index with them allow (ir/id_limits.h), else [0, 2).
ir::LiteralMap RandomInputs(const ir::Graph& g, uint64_t seed) {
  const auto limits = ir::IdLimits(g);
  Rng rng(seed);
  ir::LiteralMap args;
  for (const ir::Node& n : g.nodes()) {
    if (!ir::HasTrait(n.op, ir::kDecl)) continue;
    const ir::ValueId v = n.outputs[0];
    const ir::TensorType& t = g.value(v).type;
    ir::Literal l(t);
    auto it = limits.find(v);
    const uint64_t limit =
        it == limits.end() ? 2 : static_cast<uint64_t>(std::max<int64_t>(1, it->second));
    for (double& x : l.data)
      x = t.dtype == ir::DType::kI32 ? static_cast<double>(rng.UniformInt(limit))
                                     : rng.Normal(0, 1);
    args[g.value(v).name] = std::move(l);
  }
  return args;
}

// FNV-1a 64 of the values as float32 (or int32) bytes.
uint64_t Checksum(const ir::Literal& l) {
  uint64_t h = 1469598103934665603ull;
  for (double x : l.data) {
    unsigned char b[4];
    if (l.type.dtype != ir::DType::kI32) {  // f32, or bf16 (exactly a float)
      const float f = static_cast<float>(x);
      std::memcpy(b, &f, 4);
    } else {
      const int32_t i = static_cast<int32_t>(x);
      std::memcpy(b, &i, 4);
    }
    for (unsigned char c : b) h = (h ^ c) * 1099511628211ull;
  }
  return h;
}

absl::StatusOr<std::vector<ir::Literal>> RunOn(const std::string& backend, const ir::Graph& g,
                                               const ir::LiteralMap& args,
                                               const codegen::CompilerOptions& co) {
  if (backend == "interp") {
    ir::LiteralMap state = args;
    return ir::InterpretStep(g, state, args);
  }
  ASSIGN_OR_RETURN(auto compiler, codegen::KernelCompiler::Create(co));
  StateStore store;
  ASSIGN_OR_RETURN(auto exe, Executable::Create(g, *compiler, store));
  for (const auto& [name, lit] : args) {
    const bool persistent = store.Find(name) != nullptr;
    RETURN_IF_ERROR(persistent ? store.Set(name, lit) : exe->SetInput(name, lit));
  }
  return exe->Run();
}

}  // namespace

int RunOpt(const Args& args) {
  FlagSet flags("opt");
  flags.AllowPositionals(1);
  flags.String(
      "passes", "",
      "comma list of passes to run in order: " + absl::StrJoin(passes::RegisteredPasses(), ", "));
  flags.String("print-after", "",
               "comma list of passes (or all) after which to print the IR as well");
  flags.String("dump-dir", "", "write NN-pass.ir and NN-pass.dot after every pass here");
  flags.String("output", "-", "where the final IR goes (- for stdout, none for nowhere)");
  flags.Bool("run", false,
             "run the result on random inputs and print each output's type, sum and checksum");
  flags.String("backend", "interp", "what --run runs on: interp or jit");
  flags.Int("seed", 1, "seed of --run's random inputs");
  AddCompilerFlags(flags);  // for --backend=jit
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  if (flags.help()) {
    std::cout << "usage: gptc opt FILE.ir|- [flags]\nParses IR text, verifies it, runs passes on "
                 "it and prints the "
                 "result.\n\n"
              << flags.Usage();
    return 0;
  }
  if (flags.positionals().empty())
    return Fail(
        absl::InvalidArgumentError("gptc opt: give an IR file, or - to read standard input"), 2);
  const std::string backend = flags.GetString("backend");
  if (backend != "interp" && backend != "jit")
    return Fail(absl::InvalidArgumentError("gptc opt: --backend must be interp or jit, got '" +
                                           backend + "'"),
                2);
  passes::Pipeline pipeline;
  for (absl::string_view name : absl::StrSplit(flags.GetString("passes"), ',', absl::SkipEmpty())) {
    auto pass = passes::FindPass(std::string(name));
    if (!pass.ok())
      return Fail(
          absl::InvalidArgumentError("gptc opt: --passes: " + std::string(pass.status().message())),
          2);
    pipeline.Add(std::string(name), *pass);
  }
  passes::PipelineOptions po;
  for (absl::string_view p : absl::StrSplit(flags.GetString("print-after"), ',', absl::SkipEmpty()))
    po.print_after.insert(std::string(p));
  if (auto s = pipeline.CheckPassNames(po.print_after); !s.ok()) return Fail(s, 2);
  po.print_to = &std::cout;
  po.dump_dir = flags.GetString("dump-dir");

  const std::string path = flags.positionals()[0];
  auto text = ReadInput(path);
  if (!text.ok()) return Fail(text.status());
  const std::string file = path == "-" ? "<stdin>" : path;
  std::vector<ir::SourceLoc> where;
  auto g = ir::ParseGraph(*text, file, &where);
  if (!g.ok()) return Fail(g.status());
  ir::NodeId bad = -1;
  if (auto s = ir::Verify(*g, &bad); !s.ok()) {
    const ir::SourceLoc at =
        bad >= 0 && bad < static_cast<ir::NodeId>(where.size()) ? where[bad] : ir::SourceLoc{};
    return Fail(absl::InvalidArgumentError(
        at.line > 0 ? ir::Diagnostic(file, *text, at, std::string(s.message()))
                    : absl::StrCat(file, ": error: ", s.message())));
  }
  auto result = pipeline.Run(*g, po);
  if (!result.ok()) return Fail(result.status());

  const std::string output = flags.GetString("output");
  if (output == "-") {
    std::cout << ir::PrintGraph(*result);
  } else if (output != "none") {
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    out << ir::PrintGraph(*result);
    out.close();
    if (!out)
      return Fail(absl::InvalidArgumentError("gptc opt: cannot write --output '" + output + "'"));
  }
  if (flags.GetBool("run")) {
    const ir::LiteralMap inputs =
        RandomInputs(*result, static_cast<uint64_t>(flags.GetInt("seed")));
    auto out = RunOn(backend, *result, inputs, CompilerOptionsFromFlags(flags));
    if (!out.ok()) return Fail(out.status());
    std::cerr << "ran " << result->name() << " on " << backend << " with random inputs (seed "
              << flags.GetInt("seed") << ")\n";
    for (size_t i = 0; i < out->size(); ++i) {
      const ir::Literal& l = (*out)[i];
      double sum = 0, abs_sum = 0;
      for (double x : l.data) sum += x, abs_sum += std::fabs(x);
      std::cerr << absl::StrFormat("%%%s: %s sum=%.6g mean_abs=%.6g fnv=%016x\n",
                                   result->value(result->outputs()[i]).name,
                                   ir::TypeToString(l.type), sum,
                                   l.data.empty() ? 0.0 : abs_sum / l.data.size(), Checksum(l));
    }
  }
  return 0;
}

}  // namespace gptc::tools
