#include "codegen/kernel_compiler.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/kernel_timer.h"
#include "codegen/lower.h"
#include "codegen_hash.h"  // generated in the build tree
#include "ir/read_file.h"
#include "ir/status_macros.h"

namespace gptc::codegen {
namespace {

constexpr int kTuneRounds = 5;

using Clock = std::chrono::steady_clock;

Halide::Target KernelTarget() {
  Halide::Target t = Halide::get_host_target();
  return t.with_feature(Halide::Target::NoRuntime).with_feature(Halide::Target::NoAsserts);
}

std::string ReadAndRemove(const std::string& path) {
  std::string bytes = ir::ReadFile(path).value_or("");
  std::filesystem::remove(path);
  return bytes;
}

std::string TempPath(const std::string& stem) {
  return absl::StrCat(std::filesystem::temp_directory_path().string(), "/gptc-", getpid(), "-",
                      stem, ".o");
}

}  // namespace

absl::StatusOr<std::unique_ptr<KernelCompiler>> KernelCompiler::Create(const CompilerOptions& o) {
  const auto start = Clock::now();
  std::unique_ptr<KernelCompiler> kc(new KernelCompiler());
  kc->options_ = o;
  kc->cache_ = std::make_unique<ObjectCache>(o.cache_dir);
  kc->target_ = KernelTarget().to_string();
  const Halide::Target runtime_target = Halide::get_host_target();
  const std::string key = absl::StrCat("halide-runtime|halide=", GPTC_HALIDE_VERSION,
                                       "|target=", runtime_target.to_string());
  std::optional<std::string> runtime = kc->cache_->Load(key);
  kc->stats_.runtime_from_cache = runtime.has_value();
  if (!runtime) {
    const std::string path = TempPath("runtime");
    try {
      Halide::compile_standalone_runtime(path, runtime_target);
    } catch (const Halide::Error& e) {
      return absl::InternalError(absl::StrCat("compiling the Halide runtime: ", e.what()));
    }
    runtime = ReadAndRemove(path);
    kc->cache_->Store(key, *runtime);
  }
  ASSIGN_OR_RETURN(kc->jit_, Jit::Create(*runtime));
  RETURN_IF_ERROR(kc->jit_->SetThreads(o.threads));
  kc->stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  return kc;
}

KernelCompiler::~KernelCompiler() = default;

std::string KernelCompiler::Key(const KernelSpec& spec) const {
  return absl::StrCat(spec.Describe(), "|schedule=", kScheduleVersion,
                      "|lowering=", GPTC_CODEGEN_HASH, "|halide=", GPTC_HALIDE_VERSION,
                      "|target=", target_);
}

absl::StatusOr<int> KernelCompiler::NumVariants(const KernelSpec& spec) {
  lower::Ctx ctx(spec, KernelTarget());
  try {
    RETURN_IF_ERROR(lower::Lower(ctx));
  } catch (const Halide::Error& e) {
    return absl::InternalError(
        absl::StrCat("codegen: Halide failed on ", spec.Describe(), ": ", e.what()));
  }
  return ctx.num_variants;
}

absl::StatusOr<std::unique_ptr<CompiledKernel>> KernelCompiler::Build(const KernelSpec& spec,
                                                                      int variant) {
  auto kernel = std::make_unique<CompiledKernel>();
  kernel->description = spec.Describe();
  const Halide::Target target = KernelTarget();
  lower::Ctx ctx(spec, target, variant);
  std::string object;
  try {
    RETURN_IF_ERROR(lower::Lower(ctx));
    std::string key = Key(spec);
    if (ctx.num_variants > 1) absl::StrAppend(&key, "|variant=", ctx.variant_name);
    kernel->name = absl::StrFormat("gptc_%s_%016x", ir::OpName(spec.op), Fnv1a64(key));
    if (std::optional<std::string> cached = cache_->Load(key)) {
      object = *std::move(cached);
      ++stats_.cache_hits;
    } else {
      Halide::Pipeline pipeline(ctx.outputs);
      std::vector<Halide::Argument> args(ctx.params.begin(), ctx.params.end());
      Halide::Module module = pipeline.compile_to_module(args, kernel->name, target);
      const std::string path = TempPath(kernel->name);
      std::map<Halide::OutputFileType, std::string> outputs = {
          {Halide::OutputFileType::object, path}};
      // GPTC_DUMP_KERNELS=DIR keeps each kernel's assembly and Halide statement listing.
      if (const char* dump = std::getenv("GPTC_DUMP_KERNELS"); dump && *dump) {
        outputs[Halide::OutputFileType::assembly] = absl::StrCat(dump, "/", kernel->name, ".s");
        outputs[Halide::OutputFileType::stmt] = absl::StrCat(dump, "/", kernel->name, ".stmt");
      }
      module.compile(outputs);
      object = ReadAndRemove(path);
      cache_->Store(key, object);
      ++stats_.compiled;
    }
  } catch (const Halide::Error& e) {
    return absl::InternalError(
        absl::StrCat("codegen: Halide failed on ", kernel->description, ": ", e.what()));
  }
  RETURN_IF_ERROR(jit_->AddObject(object, kernel->name));
  ASSIGN_OR_RETURN(void* fn, jit_->Lookup(kernel->name + "_argv"));
  kernel->fn = reinterpret_cast<KernelFn>(fn);
  kernel->views = ctx.views;
  kernel->strides = ctx.strides;
  kernel->strides.resize(ctx.views.size());
  if (ctx.num_variants > 1) kernel->schedule = ctx.variant_name;
  return kernel;
}

absl::StatusOr<std::unique_ptr<CompiledKernel>> KernelCompiler::Tune(const KernelSpec& spec,
                                                                     int variants) {
  const std::string choice_key = absl::StrCat("choice|", Key(spec));
  // A recorded choice names its variant; it is used only if that variant still has that name
  // (a changed candidate list makes it stale, and the kernel is tuned again).
  if (std::optional<std::string> rec = cache_->Load(choice_key)) {
    const size_t bar = rec->find('|');
    int v = -1;
    if (bar != std::string::npos && absl::SimpleAtoi(rec->substr(0, bar), &v) && v >= 0 &&
        v < variants) {
      ASSIGN_OR_RETURN(std::unique_ptr<CompiledKernel> k, Build(spec, v));
      if (k->schedule == rec->substr(bar + 1)) return k;
    }
  }
  KernelArgs args;
  for (const ir::TensorType& t : spec.inputs) args.dtypes.push_back(t.dtype);
  for (const ir::TensorType& t : spec.outputs) args.dtypes.push_back(t.dtype);
  std::vector<std::unique_ptr<CompiledKernel>> candidates;
  for (int v = 0; v < variants; ++v) {
    ASSIGN_OR_RETURN(std::unique_ptr<CompiledKernel> k, Build(spec, v));
    candidates.push_back(std::move(k));
  }
  // Rounds that time every candidate once each, keeping each one's best: a burst of load
  // from a neighbour on this shared machine then hurts one sample of every candidate rather
  // than all samples of one, which would make a slow schedule look fast forever (cached).
  args.views = candidates[0]->views;
  args.strides = candidates[0]->strides;
  ASSIGN_OR_RETURN(std::unique_ptr<KernelTimer> timer, KernelTimer::Create(args));
  std::vector<double> best(variants, 1e30);
  for (int round = 0; round < kTuneRounds; ++round)
    for (int v = 0; v < variants; ++v) {
      ASSIGN_OR_RETURN(double s, timer->Time(candidates[v]->fn, /*runs=*/1));
      best[v] = std::min(best[v], s);
    }
  const int best_v = static_cast<int>(std::min_element(best.begin(), best.end()) - best.begin());
  std::unique_ptr<CompiledKernel> winner = std::move(candidates[best_v]);
  cache_->Store(choice_key, absl::StrCat(best_v, "|", winner->schedule));
  ++stats_.tuned;
  return winner;
}

absl::StatusOr<const CompiledKernel*> KernelCompiler::Get(const KernelSpec& spec) {
  const std::string key = Key(spec);
  if (auto it = kernels_.find(key); it != kernels_.end()) {
    ++stats_.reused;
    return it->second.get();
  }
  const auto start = Clock::now();
  ASSIGN_OR_RETURN(const int variants, NumVariants(spec));
  std::unique_ptr<CompiledKernel> kernel;
  if (variants > 1 && options_.variant >= 0) {
    ASSIGN_OR_RETURN(kernel, Build(spec, std::min(options_.variant, variants - 1)));
  } else if (variants > 1 && options_.tune) {
    ASSIGN_OR_RETURN(kernel, Tune(spec, variants));
  } else {
    ASSIGN_OR_RETURN(kernel, Build(spec, 0));
  }
  stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  const CompiledKernel* raw = kernel.get();
  kernels_.emplace(key, std::move(kernel));
  return raw;
}

}  // namespace gptc::codegen
