#include "codegen/kernel_compiler.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/lower.h"
#include "ir/status_macros.h"

namespace gptc::codegen {
namespace {

using Clock = std::chrono::steady_clock;

Halide::Target KernelTarget() {
  Halide::Target t = Halide::get_host_target();
  return t.with_feature(Halide::Target::NoRuntime).with_feature(Halide::Target::NoAsserts);
}

std::string ReadAndRemove(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  in.close();
  std::filesystem::remove(path);
  return ss.str();
}

std::string TempPath(const std::string& stem) {
  return absl::StrCat(std::filesystem::temp_directory_path().string(), "/gptc-", getpid(), "-", stem, ".o");
}

}  // namespace

absl::StatusOr<std::unique_ptr<KernelCompiler>> KernelCompiler::Create(const CompilerOptions& o) {
  const auto start = Clock::now();
  std::unique_ptr<KernelCompiler> kc(new KernelCompiler());
  kc->cache_ = std::make_unique<ObjectCache>(o.cache_dir);
  kc->target_ = KernelTarget().to_string();
  const Halide::Target runtime_target = Halide::get_host_target();
  const std::string key = absl::StrCat("halide-runtime|halide=", GPTC_HALIDE_VERSION, "|target=",
                                       runtime_target.to_string());
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
                      "|halide=", GPTC_HALIDE_VERSION, "|target=", target_);
}

absl::StatusOr<const CompiledKernel*> KernelCompiler::Get(const KernelSpec& spec) {
  const std::string key = Key(spec);
  if (auto it = kernels_.find(key); it != kernels_.end()) {
    ++stats_.reused;
    return it->second.get();
  }
  const auto start = Clock::now();
  auto kernel = std::make_unique<CompiledKernel>();
  kernel->name = absl::StrFormat("gptc_%s_%016x", ir::OpName(spec.op), Fnv1a64(key));
  kernel->description = spec.Describe();
  const Halide::Target target = KernelTarget();
  lower::Ctx ctx{spec, target, target.natural_vector_size<float>(), {}, {}, {}};
  std::optional<std::string> object;
  try {
    RETURN_IF_ERROR(lower::Lower(ctx));
    object = cache_->Load(key);
    if (object) {
      ++stats_.cache_hits;
    } else {
      Halide::Pipeline pipeline(ctx.outputs);
      std::vector<Halide::Argument> args(ctx.params.begin(), ctx.params.end());
      Halide::Module module = pipeline.compile_to_module(args, kernel->name, target);
      const std::string path = TempPath(kernel->name);
      std::map<Halide::OutputFileType, std::string> outputs = {{Halide::OutputFileType::object, path}};
      // GPTC_DUMP_KERNELS=DIR keeps each kernel's assembly and Halide statement listing.
      if (const char* dump = std::getenv("GPTC_DUMP_KERNELS"); dump && *dump) {
        outputs[Halide::OutputFileType::assembly] = absl::StrCat(dump, "/", kernel->name, ".s");
        outputs[Halide::OutputFileType::stmt] = absl::StrCat(dump, "/", kernel->name, ".stmt");
      }
      module.compile(outputs);
      object = ReadAndRemove(path);
      cache_->Store(key, *object);
      ++stats_.compiled;
    }
  } catch (const Halide::Error& e) {
    return absl::InternalError(absl::StrCat("codegen: Halide failed on ", kernel->description, ": ", e.what()));
  }
  RETURN_IF_ERROR(jit_->AddObject(*object, kernel->name));
  ASSIGN_OR_RETURN(void* fn, jit_->Lookup(kernel->name + "_argv"));
  kernel->fn = reinterpret_cast<KernelFn>(fn);
  kernel->views = ctx.views;
  stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  const CompiledKernel* raw = kernel.get();
  kernels_.emplace(key, std::move(kernel));
  return raw;
}

}  // namespace gptc::codegen
