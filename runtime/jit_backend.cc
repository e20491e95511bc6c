#include "runtime/jit_backend.h"

#include <algorithm>

#include "frontend/nn/gpt.h"
#include "ir/status_macros.h"
#include "passes/step_graphs.h"

namespace gptc {

absl::StatusOr<std::unique_ptr<JitBackend>> JitBackend::Create(
    const GptConfig& cfg, uint64_t seed, const passes::StepOptions& step,
    const codegen::CompilerOptions& compiler) {
  ASSIGN_OR_RETURN(passes::StepGraphs graphs, passes::BuildStepGraphs(cfg, step));
  const ir::Graph &train = graphs.train, &eval = graphs.eval, &sample = graphs.sample;

  std::unique_ptr<JitBackend> b(new JitBackend());
  ASSIGN_OR_RETURN(b->compiler_, codegen::KernelCompiler::Create(compiler));
  // The three steps never run at the same time, so they share one arena, as large as the
  // largest plan asks (the train step's).
  auto arena = std::make_shared<AlignedBuffer>(static_cast<size_t>(
      std::max({Executable::ArenaBytes(train), Executable::ArenaBytes(eval), Executable::ArenaBytes(sample)})));
  ASSIGN_OR_RETURN(b->train_, Executable::Create(train, *b->compiler_, b->store_, arena));
  ASSIGN_OR_RETURN(b->eval_, Executable::Create(eval, *b->compiler_, b->store_, arena));
  ASSIGN_OR_RETURN(b->sample_, Executable::Create(sample, *b->compiler_, b->store_, arena));
  for (const ParamSpec& p : graphs.model.params) RETURN_IF_ERROR(b->store_.Set(p.name, InitParam(p, seed)));
  return b;
}

int JitBackend::distinct_kernels() const {
  const codegen::CompilerStats& s = compiler_->stats();
  return s.compiled + s.cache_hits;
}

absl::StatusOr<double> JitBackend::TrainStep(const Batch& batch, double lr, int64_t step) {
  RETURN_IF_ERROR(train_->SetInput("tokens", batch.tokens));
  RETURN_IF_ERROR(train_->SetInput("targets", batch.targets));
  RETURN_IF_ERROR(train_->SetScalar("lr", lr));
  RETURN_IF_ERROR(train_->SetScalar("step", static_cast<double>(step)));
  return train_->RunScalar();
}

absl::StatusOr<double> JitBackend::EvalLoss(const Batch& batch) {
  RETURN_IF_ERROR(eval_->SetInput("tokens", batch.tokens));
  RETURN_IF_ERROR(eval_->SetInput("targets", batch.targets));
  return eval_->RunScalar();
}

absl::StatusOr<ir::Literal> JitBackend::Logits(const ir::Literal& tokens) {
  RETURN_IF_ERROR(sample_->SetInput("tokens", tokens));
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, sample_->Run());
  return std::move(out[0]);
}

absl::StatusOr<std::vector<float>> JitBackend::NextTokenLogits(const ir::Literal& tokens, int64_t pos) {
  RETURN_IF_ERROR(sample_->SetInput("tokens", tokens));
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, sample_->Run());
  const int64_t vocab = out[0].shape().back();
  return std::vector<float>(out[0].data.begin() + pos * vocab, out[0].data.begin() + (pos + 1) * vocab);
}

absl::StatusOr<std::vector<Checkpoint::Tensor>> JitBackend::StateTensors() const {
  std::vector<Checkpoint::Tensor> out;
  for (const auto& [name, e] : store_.entries())  // a std::map: sorted by name
    out.push_back({name, e.type.shape, {}, static_cast<const float*>(e.data)});
  return out;
}

absl::Status JitBackend::SetState(const std::string& name, const ir::Literal& value) { return store_.Set(name, value); }

}  // namespace gptc
