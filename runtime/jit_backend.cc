#include "runtime/jit_backend.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ir/check.h"
#include "ir/status_macros.h"
#include "passes/grad_accum.h"
#include "runtime/memory_fit.h"

namespace gptc {
namespace {

const ir::Graph& GraphOf(const passes::StepGraphs& g, JitBackend::Step s) {
  switch (s) {
    case JitBackend::Step::kTrain:
      return g.train;
    case JitBackend::Step::kEval:
      return g.eval;
    case JitBackend::Step::kSample:
      return g.sample;
    case JitBackend::Step::kPrefill:
      return g.prefill;
    case JitBackend::Step::kDecode:
      return g.decode;
    case JitBackend::Step::kAccumulate:
      return g.accumulate;
  }
  GPTC_CHECK(false) << "unknown step";
  return g.train;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JitBackend>> JitBackend::Create(
    const Model& model, uint64_t seed, const passes::StepOptions& step,
    const codegen::CompilerOptions& compiler, const std::vector<Step>& compile_now) {
  if (compile_now.empty())
    return absl::InvalidArgumentError("JitBackend: compile at least one step");
  std::unique_ptr<JitBackend> b(new JitBackend());
  ASSIGN_OR_RETURN(b->graphs_, passes::BuildStepGraphs(model, step));
  b->seed_ = seed;
  b->grad_accum_ = std::max(1, step.grad_accum);
  std::vector<Step> now = compile_now;
  if (b->grad_accum_ > 1 && std::count(now.begin(), now.end(), Step::kTrain) > 0)
    now.push_back(Step::kAccumulate);
  {  // the whole model's memory, before compiling anything or allocating
    std::vector<const ir::Graph*> graphs;
    for (Step s : now) graphs.push_back(&GraphOf(b->graphs_, s));
    RETURN_IF_ERROR(CheckFits(CompiledBytes(graphs), absl::StrCat("the model '", model.name, "'")));
  }
  b->random_ = b->graphs_.train.FindValue("rng_key").has_value();
  ASSIGN_OR_RETURN(b->compiler_, codegen::KernelCompiler::Create(compiler));
  // The steps never run at the same time, so they share one arena, as large as the largest
  // plan asks (the train step's).
  int64_t arena = 0;
  for (int s = 0; s < kNumSteps; ++s)
    arena = std::max(arena, Executable::ArenaBytes(GraphOf(b->graphs_, Step(s))));
  b->arena_ = std::make_shared<AlignedBuffer>(static_cast<size_t>(arena));
  for (Step s : now) RETURN_IF_ERROR(b->Get(s).status());
  RETURN_IF_ERROR(b->InitParams(seed));
  b->params_ready_ = true;
  return b;
}

absl::Status JitBackend::InitParams(uint64_t seed) {
  // Each parameter draws from its own stream (seeded by its name), so they are drawn in
  // parallel; a baby-sized model's 10M normals took a quarter of a second on one thread.
  const std::vector<ParamSpec>& params = graphs_.model.params;
  std::vector<ir::Literal> values(params.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < params.size(); i = next++) values[i] = InitParam(params[i], seed);
  };
  std::vector<std::thread> pool;
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (size_t i = 0; i < params.size(); ++i) RETURN_IF_ERROR(store_.Set(params[i].name, values[i]));
  return FillBuffers();
}

absl::Status JitBackend::FillBuffers() {
  for (const BufferSpec& b : graphs_.model.buffers) {
    if (!store_.Find(b.name)) continue;  // no compiled step reads it yet
    ASSIGN_OR_RETURN(ir::Literal value, MakeBuffer(b));
    RETURN_IF_ERROR(store_.Set(b.name, value));
  }
  return absl::OkStatus();
}

absl::StatusOr<Executable*> JitBackend::Get(Step s) {
  std::unique_ptr<Executable>& e = exe_[static_cast<int>(s)];
  if (!e && s == Step::kAccumulate && grad_accum_ == 1)
    return absl::FailedPreconditionError(
        "gradient accumulation: this backend was built for one micro-batch per step");
  if (!e) {
    ASSIGN_OR_RETURN(e, Executable::Create(GraphOf(graphs_, s), *compiler_, store_, arena_));
    e->EnableNumericChecks(check_numerics_);
    if (params_ready_) RETURN_IF_ERROR(FillBuffers());  // a step compiled later may declare one
  }
  return e.get();
}

Executable& JitBackend::Compiled(Step s) {
  GPTC_CHECK(exe_[static_cast<int>(s)] != nullptr)
      << "JitBackend: step " << static_cast<int>(s) << " was not compiled at Create";
  return *exe_[static_cast<int>(s)];
}

void JitBackend::EnableNumericChecks(bool on) {
  check_numerics_ = on;
  for (auto& e : exe_)
    if (e) e->EnableNumericChecks(on);
}

absl::StatusOr<double> JitBackend::TrainStep(const Batch& batch, double lr, int64_t step) {
  ASSIGN_OR_RETURN(Executable * train, Get(Step::kTrain));
  RETURN_IF_ERROR(train->SetInput("tokens", batch.tokens));
  RETURN_IF_ERROR(train->SetInput("targets", batch.targets));
  RETURN_IF_ERROR(train->SetScalar("lr", lr));
  RETURN_IF_ERROR(train->SetScalar("step", static_cast<double>(step)));
  if (random_)
    RETURN_IF_ERROR(train->SetInput(
        "rng_key", RngKey(seed_, MicroBatchKeyStep(step, grad_accum_ - 1, grad_accum_))));
  ASSIGN_OR_RETURN(double loss, train->RunScalar(0));
  ASSIGN_OR_RETURN(double grad_norm, train->ScalarOutput(1));
  return CheckTrainStep(loss, grad_norm, step);
}

absl::StatusOr<double> JitBackend::AccumulateStep(const Batch& batch, int64_t step, int micro) {
  ASSIGN_OR_RETURN(Executable * acc, Get(Step::kAccumulate));
  RETURN_IF_ERROR(acc->SetInput("tokens", batch.tokens));
  RETURN_IF_ERROR(acc->SetInput("targets", batch.targets));
  if (random_)
    RETURN_IF_ERROR(
        acc->SetInput("rng_key", RngKey(seed_, MicroBatchKeyStep(step, micro, grad_accum_))));
  ASSIGN_OR_RETURN(double loss, acc->RunScalar(0));
  return CheckTrainStep(loss, 0.0, step);
}

absl::StatusOr<double> JitBackend::EvalLoss(const Batch& batch) {
  ASSIGN_OR_RETURN(Executable * eval, Get(Step::kEval));
  RETURN_IF_ERROR(eval->SetInput("tokens", batch.tokens));
  RETURN_IF_ERROR(eval->SetInput("targets", batch.targets));
  return eval->RunScalar();
}

absl::StatusOr<ir::Literal> JitBackend::Logits(const ir::Literal& tokens) {
  ASSIGN_OR_RETURN(Executable * sample, Get(Step::kSample));
  RETURN_IF_ERROR(sample->SetInput("tokens", tokens));
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, sample->Run());
  return std::move(out[0]);
}

absl::StatusOr<std::vector<float>> JitBackend::NextTokenLogits(const ir::Literal& tokens,
                                                               int64_t pos) {
  ASSIGN_OR_RETURN(ir::Literal logits, Logits(tokens));
  return LogitsRow(logits, pos);
}

absl::StatusOr<std::vector<float>> JitBackend::Prefill(const ir::Literal& window, int64_t pos) {
  ASSIGN_OR_RETURN(Executable * prefill, Get(Step::kPrefill));
  RETURN_IF_ERROR(prefill->SetInput("tokens", window));
  RETURN_IF_ERROR(prefill->SetInput("position", ir::Literal(ir::I32({1}), {0})));
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, prefill->Run());
  return LogitsRow(out[0], pos);
}

absl::StatusOr<std::vector<float>> JitBackend::Decode(int32_t token, int64_t pos) {
  ASSIGN_OR_RETURN(Executable * decode, Get(Step::kDecode));
  RETURN_IF_ERROR(
      decode->SetInput("tokens", ir::Literal(ir::I32({1, 1}), {static_cast<double>(token)})));
  RETURN_IF_ERROR(
      decode->SetInput("position", ir::Literal(ir::I32({1}), {static_cast<double>(pos)})));
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, decode->Run());
  return LogitsRow(out[0], 0);
}

absl::StatusOr<std::vector<Checkpoint::Tensor>> JitBackend::StateTensors() const {
  std::vector<Checkpoint::Tensor> out;
  for (const auto& [name, e] : store_.entries())  // a std::map: sorted by name
    // The KV cache is scratch, the gradient sums are zero between steps: not model state.
    if (!absl::StartsWith(name, passes::kKvCachePrefix) &&
        !absl::StartsWith(name, passes::kGradAccumPrefix))
      out.push_back({name, e.type.shape, {}, static_cast<const float*>(e.data)});
  return out;
}

absl::Status JitBackend::SetState(const std::string& name, const ir::Literal& value) {
  return store_.Set(name, value);
}

}  // namespace gptc
