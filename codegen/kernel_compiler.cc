#include "codegen/kernel_compiler.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codegen/amx_gemm.h"
#include "codegen/cpu_info.h"
#include "codegen/emit_object.h"
#include "codegen/kernel_timer.h"
#include "codegen/lower.h"
#include "codegen_hash.h"  // generated in the build tree
#include "ir/read_file.h"
#include "ir/status_macros.h"
#include "tuning_hash.h"  // generated in the build tree

namespace gptc::codegen {
namespace {

constexpr int kTuneRounds = 5;
// Short kernels get more rounds, until their samples span this long: a shared machine's
// neighbour takes a core for milliseconds at a time, and five samples of a 0.3 ms kernel all
// fall inside one such burst, which then decides (and is cached) for good. Seen on a 2-core
// VM: a bf16 weight gradient kept on the f32 path at 2x the dot-product tiles' time.
constexpr double kTuneMinSpanSeconds = 0.03;
constexpr int kTuneMaxRounds = 60;
// A kernel's tuning stops after the round that passes this many seconds: at GPT-2's size one
// run of the logits GEMM takes a second or more, and five rounds of every candidate would
// take minutes per kernel (the first round still times every candidate once).
constexpr double kTuneBudgetSeconds = 4.0;

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

// A kernel's description for an error message: an adamw kernel's runs to tens of KB.
std::string Abbreviated(const std::string& d) {
  return d.size() <= 400 ? d : absl::StrCat(d.substr(0, 400), "... (", d.size(), " characters)");
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
  if (!DisabledFeatures().empty()) absl::StrAppend(&kc->target_, "|", DisabledFeatures());
  // The CPU model too: tuned schedules chosen on one machine are retuned on another with the
  // same instruction set (Zen 4 and a Xeon both have AVX-512 and AVX512_BF16).
  absl::StrAppend(&kc->target_, "|cpu=", CpuKey());
  // AMX (and the request for its tile state) is decided before any kernel's threads start;
  // GPTC_AMX=off|emulate is part of the key, as it changes the GEMMs' candidates.
  absl::StrAppend(&kc->target_, "|amx=", static_cast<int>(AmxGemmMode()));
  const Halide::Target runtime_target = Halide::get_host_target();
  const std::string key = absl::StrCat("halide-runtime|halide=", GPTC_HALIDE_VERSION,
                                       "|target=", runtime_target.to_string());
  std::optional<std::string> runtime = kc->cache_->Load(key);
  kc->stats_.runtime_from_cache = runtime.has_value();
  if (runtime) {
    std::promise<absl::StatusOr<std::string>> ready;
    ready.set_value(*std::move(runtime));
    kc->runtime_ = ready.get_future();
  } else {
    // Compiled beside the kernels (about a second, cold starts only): the JIT needs it only
    // when the first kernel is linked.
    ObjectCache* cache = kc->cache_.get();
    kc->runtime_ = std::async(
        std::launch::async, [cache, key, runtime_target]() -> absl::StatusOr<std::string> {
          const std::string path = TempPath("runtime");
          try {
            Halide::compile_standalone_runtime(path, runtime_target);
          } catch (const Halide::Error& e) {
            return absl::InternalError(absl::StrCat("compiling the Halide runtime: ", e.what()));
          }
          std::string object = ReadAndRemove(path);
          cache->Store(key, object);
          return object;
        });
  }
  kc->stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  return kc;
}

KernelCompiler::~KernelCompiler() {
  if (runtime_.valid()) runtime_.wait();  // a runtime compile still running owns a temp file
}

absl::Status KernelCompiler::EnsureJit() {
  if (jit_) return absl::OkStatus();
  absl::StatusOr<std::string> runtime = runtime_.get();
  if (!runtime.ok()) return runtime.status();
  ASSIGN_OR_RETURN(jit_, Jit::Create(*runtime));
  return jit_->SetThreads(options_.threads);
}

std::string KernelCompiler::ChoiceKey(const KernelSpec& spec) const {
  // Without the whole lowering's hash: a change to an elementwise kernel does not re-time
  // every GEMM. With the tuned kernels' own (GPTC_TUNING_HASH): a faster candidate must get
  // the chance to win (a choice kept across a change to the dot-product tiles held a GEMM on
  // a path 2.2x slower). A choice names its schedule; a candidate list that no longer has it
  // is tuned again.
  return absl::StrCat("choice|", spec.Describe(), "|schedule=", kScheduleVersion,
                      "|tuned=", GPTC_TUNING_HASH, "|target=", target_);
}

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
        absl::StrCat("codegen: Halide failed on ", Abbreviated(spec.Describe()), ": ", e.what()));
  }
  return ctx.num_variants;
}

absl::StatusOr<std::string> KernelCompiler::ObjectFor(const KernelSpec& spec, lower::Ctx& ctx,
                                                      std::string* name) {
  std::string object;
  try {
    RETURN_IF_ERROR(lower::Lower(ctx));
    std::string key = Key(spec);
    if (ctx.num_variants > 1) absl::StrAppend(&key, "|variant=", ctx.variant_name);
    *name = absl::StrFormat("gptc_%s_%016x", ir::OpName(spec.op), Fnv1a64(key));
    if (std::optional<std::string> cached = cache_->Load(key)) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.cache_hits;
      return *std::move(cached);
    }
    Halide::Pipeline pipeline(ctx.outputs);
    std::vector<Halide::Argument> args;
    for (const Halide::ImageParam& p : ctx.params)
      if (p.defined()) args.push_back(p);
    Halide::Module module = pipeline.compile_to_module(args, *name, ctx.target);
    // GPTC_DUMP_KERNELS=DIR keeps each kernel's Halide statement listing and the assembly
    // (Halide's, before emit_object.h's feature fix).
    if (const char* dump = std::getenv("GPTC_DUMP_KERNELS"); dump && *dump)
      module.compile({{Halide::OutputFileType::assembly, absl::StrCat(dump, "/", *name, ".s")},
                      {Halide::OutputFileType::stmt, absl::StrCat(dump, "/", *name, ".stmt")}});
    object = EmitObject(module);
    cache_->Store(key, object);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.compiled;
  } catch (const Halide::Error& e) {
    return absl::InternalError(
        absl::StrCat("codegen: Halide failed on ", Abbreviated(spec.Describe()), ": ", e.what()));
  }
  return object;
}

absl::StatusOr<std::unique_ptr<CompiledKernel>> KernelCompiler::Build(const KernelSpec& spec,
                                                                      int variant) {
  auto kernel = std::make_unique<CompiledKernel>();
  std::string object;
  {
    // Prepared (lowered and compiled or loaded) by Prepare(): nothing left but linking.
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = prepared_.find(absl::StrCat(Key(spec), "#", variant)); it != prepared_.end()) {
      object = std::move(it->second.object);
      *kernel = std::move(it->second.kernel);
      prepared_.erase(it);
    }
  }
  if (object.empty()) {
    lower::Ctx ctx(spec, KernelTarget(), variant);
    ASSIGN_OR_RETURN(object, ObjectFor(spec, ctx, &kernel->name));
    DescribeArguments(ctx, kernel.get());
  }
  kernel->description = spec.Describe();
  RETURN_IF_ERROR(EnsureJit());
  RETURN_IF_ERROR(jit_->AddObject(object, kernel->name));
  ASSIGN_OR_RETURN(void* fn, jit_->Lookup(kernel->name + "_argv"));
  kernel->fn = reinterpret_cast<KernelFn>(fn);
  return kernel;
}

void KernelCompiler::DescribeArguments(const lower::Ctx& ctx, CompiledKernel* kernel) {
  if (ctx.num_variants > 1) kernel->schedule = ctx.variant_name;
  std::vector<std::vector<int64_t>> strides = ctx.strides;
  strides.resize(ctx.views.size());
  const int inputs = static_cast<int>(ctx.spec.inputs.size());
  bool all = ctx.bound_outputs.empty();
  for (const Halide::ImageParam& p : ctx.params) all = all && p.defined();
  if (all && static_cast<int>(ctx.params.size()) == inputs) {
    kernel->views = ctx.views;
    kernel->strides = std::move(strides);
    return;
  }
  for (int i = 0; i < inputs; ++i) {
    if (i >= static_cast<int>(ctx.params.size()) || !ctx.params[i].defined()) continue;
    kernel->args.push_back(i);
    kernel->views.push_back(ctx.views[i]);
    kernel->strides.push_back(strides[i]);
  }
  for (size_t o = inputs; o < ctx.views.size(); ++o) {
    const int result =
        ctx.bound_outputs.empty() ? static_cast<int>(o) - inputs : ctx.bound_outputs[o - inputs];
    kernel->args.push_back(inputs + result);
    kernel->views.push_back(ctx.views[o]);
    kernel->strides.push_back(strides[o]);
  }
}

std::vector<int> KernelCompiler::VariantsToBuild(const KernelSpec& spec, int variants) const {
  if (variants <= 1) return {0};
  if (options_.variant >= 0) return {std::min(options_.variant, variants - 1)};
  if (!options_.tune) return {0};
  if (std::optional<Choice> c = RecordedChoice(spec, variants)) return {c->variant};
  std::vector<int> all(variants);
  for (int v = 0; v < variants; ++v) all[v] = v;
  return all;
}

std::optional<KernelCompiler::Choice> KernelCompiler::RecordedChoice(const KernelSpec& spec,
                                                                     int variants) const {
  std::optional<std::string> rec = cache_->Load(ChoiceKey(spec));
  if (!rec) return std::nullopt;
  const size_t bar = rec->find('|');
  int v = -1;
  if (bar == std::string::npos || !absl::SimpleAtoi(rec->substr(0, bar), &v) || v < 0 ||
      v >= variants)
    return std::nullopt;
  return Choice{v, rec->substr(bar + 1)};
}

absl::Status KernelCompiler::Prepare(const std::vector<KernelSpec>& specs) {
  const auto start = Clock::now();
  // The work: every schedule variant Get() will need, of every spec not yet loaded, once.
  struct Job {
    const KernelSpec* spec;
    int variant;
  };
  std::vector<Job> jobs;
  absl::flat_hash_map<std::string, bool> seen;
  for (const KernelSpec& spec : specs) {
    const std::string key = Key(spec);
    if (kernels_.count(key) || !seen.emplace(key, true).second) continue;
    ASSIGN_OR_RETURN(const int variants, NumVariants(spec));
    for (int v : VariantsToBuild(spec, variants)) jobs.push_back({&spec, v});
  }
  const int threads =
      std::max(1, std::min<int>(static_cast<int>(jobs.size()),
                                options_.compile_threads > 0
                                    ? options_.compile_threads
                                    : static_cast<int>(std::thread::hardware_concurrency())));
  if (threads <= 1) return absl::OkStatus();  // Get() compiles them one by one anyway
  // Halide is thread-safe for separate pipelines (no Funcs or Exprs shared between threads;
  // each compile has its own LLVMContext), so each worker lowers and compiles whole kernels
  // into `prepared_`; Get() then only loads them. Tuning still times candidates afterwards,
  // one at a time, on an otherwise idle machine.
  std::atomic<size_t> next{0};
  std::mutex err_mu;
  absl::Status first_error;
  auto work = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      lower::Ctx ctx(*jobs[i].spec, KernelTarget(), jobs[i].variant);
      Prepared p;
      absl::StatusOr<std::string> object = ObjectFor(*jobs[i].spec, ctx, &p.kernel.name);
      if (!object.ok()) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (first_error.ok()) first_error = object.status();
        continue;
      }
      p.object = *std::move(object);
      DescribeArguments(ctx, &p.kernel);
      std::lock_guard<std::mutex> lock(mu_);
      prepared_.emplace(absl::StrCat(Key(*jobs[i].spec), "#", jobs[i].variant), std::move(p));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  return first_error;
}

absl::StatusOr<std::unique_ptr<CompiledKernel>> KernelCompiler::Tune(const KernelSpec& spec,
                                                                     int variants) {
  const std::string choice_key = ChoiceKey(spec);
  // A recorded choice names its variant; it is used only if that variant still has that name
  // (a changed candidate list makes it stale, and the kernel is tuned again).
  // A stale choice's kernel is already linked: it is that variant's candidate (linking its
  // object a second time would be a duplicate definition in the JIT).
  std::unique_ptr<CompiledKernel> stale;
  int stale_variant = -1;
  if (std::optional<Choice> c = RecordedChoice(spec, variants)) {
    ASSIGN_OR_RETURN(std::unique_ptr<CompiledKernel> k, Build(spec, c->variant));
    if (k->schedule == c->schedule) return k;
    stale = std::move(k);
    stale_variant = c->variant;
  }
  std::vector<std::unique_ptr<CompiledKernel>> candidates;
  for (int v = 0; v < variants; ++v) {
    if (v == stale_variant) {
      candidates.push_back(std::move(stale));
      continue;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<CompiledKernel> k, Build(spec, v));
    candidates.push_back(std::move(k));
  }
  // One set of scratch buffers serves every candidate, so they must take the same arguments
  // in the same order; each buffer has the type of the IR value it stands for (a kernel that
  // binds its results in another order than the node's, e.g. with bf16 copies, would
  // otherwise write f32 into a buffer sized for bf16).
  for (const auto& k : candidates)
    if (k->args != candidates[0]->args || k->views.size() != candidates[0]->views.size())
      return absl::InternalError(absl::StrCat("codegen: the schedule variants of ", spec.Describe(),
                                              " take different arguments"));
  std::vector<ir::DType> types;  // inputs, then outputs
  for (const ir::TensorType& t : spec.inputs) types.push_back(t.dtype);
  for (const ir::TensorType& t : spec.outputs) types.push_back(t.dtype);
  KernelArgs args;
  if (candidates[0]->args.empty()) {
    args.dtypes = types;
  } else {
    for (int a : candidates[0]->args) args.dtypes.push_back(types[a]);
  }
  // Rounds that time every candidate once each, keeping each one's best: a burst of load
  // from a neighbour on this shared machine then hurts one sample of every candidate rather
  // than all samples of one, which would make a slow schedule look fast forever (cached).
  args.views = candidates[0]->views;
  args.strides = candidates[0]->strides;
  ASSIGN_OR_RETURN(std::unique_ptr<KernelTimer> timer, KernelTimer::Create(args));
  std::vector<double> best(variants, 1e30);
  // From the second round on, candidates slower than 1.5x the best so far drop out: the
  // close contenders get all the rounds, and a baby-sized GEMM is not run 5 times per
  // hopeless schedule (that was most of a cold start). Two samples each first, so one burst
  // of load cannot knock out the best, and not before the samples span kTuneMinSpanSeconds.
  std::vector<bool> alive(variants, true);
  const auto tune_start = std::chrono::steady_clock::now();
  for (int round = 0; round < kTuneMaxRounds; ++round) {
    for (int v = 0; v < variants; ++v) {
      if (!alive[v]) continue;
      RETURN_IF_ERROR(timer->SetViews(candidates[v]->views, candidates[v]->strides));
      ASSIGN_OR_RETURN(double s, timer->Time(candidates[v]->fn, /*runs=*/1));
      best[v] = std::min(best[v], s);
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - tune_start).count();
    if (elapsed > kTuneBudgetSeconds) break;
    if (round + 1 >= kTuneRounds && elapsed >= kTuneMinSpanSeconds) break;
    const double fastest = *std::min_element(best.begin(), best.end());
    if (round >= 1 && elapsed >= kTuneMinSpanSeconds)
      for (int v = 0; v < variants; ++v) alive[v] = alive[v] && best[v] <= 1.5 * fastest;
  }
  const int best_v = static_cast<int>(std::min_element(best.begin(), best.end()) - best.begin());
  // GPTC_TUNE_LOG=1: every candidate's best time, to see what the tuner chose from.
  static const bool log = std::getenv("GPTC_TUNE_LOG") != nullptr;
  if (log) {
    std::string report = absl::StrCat("tuned ", spec.Describe(), "\n");
    for (int v = 0; v < variants; ++v)
      absl::StrAppendFormat(&report, "  %s %9.1f us  %s\n", v == best_v ? "*" : " ", best[v] * 1e6,
                            candidates[v]->schedule);
    std::fputs(report.c_str(), stderr);
  }
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
