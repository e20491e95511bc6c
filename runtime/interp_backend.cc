#include "runtime/interp_backend.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "frontend/nn/gpt.h"
#include "ir/status_macros.h"
#include "passes/grad_accum.h"
#include "passes/step_graphs.h"
#include "runtime/memory_fit.h"

namespace gptc {

absl::StatusOr<std::unique_ptr<InterpBackend>> InterpBackend::Create(
    const Model& model, uint64_t seed, const passes::StepOptions& step, ir::Precision precision) {
  ASSIGN_OR_RETURN(passes::StepGraphs graphs, passes::BuildStepGraphs(model, step));
  RETURN_IF_ERROR(CheckFits(InterpretedBytes(graphs.train),
                            absl::StrCat("the model '", model.name, "' on the interpreter")));
  std::unique_ptr<InterpBackend> b(new InterpBackend());
  b->train_ = std::move(graphs.train);
  b->accumulate_ = std::move(graphs.accumulate);
  b->grad_accum_ = std::max(1, step.grad_accum);
  b->eval_ = std::move(graphs.eval);
  b->sample_ = std::move(graphs.sample);
  b->prefill_ = std::move(graphs.prefill);
  b->decode_ = std::move(graphs.decode);
  b->state_ = InitParams(graphs.model.params, seed);
  for (ir::ValueId v : b->train_.States())
    b->state_[b->train_.value(v).name] = ir::Literal(b->train_.value(v).type);
  for (const BufferSpec& buf : graphs.model.buffers) {
    ASSIGN_OR_RETURN(b->state_[buf.name], MakeBuffer(buf));
  }
  b->options_.precision = precision;
  b->seed_ = seed;
  return b;
}

absl::StatusOr<double> InterpBackend::TrainStep(const Batch& batch, double lr, int64_t step) {
  ir::LiteralMap in = {{"tokens", batch.tokens},
                       {"targets", batch.targets},
                       {"lr", ir::Literal(ir::F32({}), {lr})},
                       {"step", ir::Literal(ir::F32({}), {static_cast<double>(step)})}};
  if (train_.FindValue("rng_key"))
    in["rng_key"] = RngKey(seed_, MicroBatchKeyStep(step, grad_accum_ - 1, grad_accum_));
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, ir::InterpretStep(train_, state_, in, options_));
  return CheckTrainStep(out[0].data[0], out[1].data[0], step);
}

absl::StatusOr<double> InterpBackend::AccumulateStep(const Batch& batch, int64_t step, int micro) {
  if (grad_accum_ == 1)
    return absl::FailedPreconditionError(
        "gradient accumulation: this backend was built for one micro-batch per step");
  ir::LiteralMap in = {{"tokens", batch.tokens}, {"targets", batch.targets}};
  if (accumulate_.FindValue("rng_key"))
    in["rng_key"] = RngKey(seed_, MicroBatchKeyStep(step, micro, grad_accum_));
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out,
                   ir::InterpretStep(accumulate_, state_, in, options_));
  return CheckTrainStep(out[0].data[0], 0.0, step);
}

absl::StatusOr<double> InterpBackend::EvalLoss(const Batch& batch) {
  ir::LiteralMap args = state_;
  args["tokens"] = batch.tokens;
  args["targets"] = batch.targets;
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, ir::Interpret(eval_, args, options_));
  return out[0].data[0];
}

absl::StatusOr<std::vector<float>> InterpBackend::NextTokenLogits(const ir::Literal& tokens,
                                                                  int64_t pos) {
  ir::LiteralMap args = state_;
  args["tokens"] = tokens;
  args["targets"] = ir::Literal(tokens.type);  // unused by the logits
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, ir::Interpret(sample_, args, options_));
  return LogitsRow(out[0], pos);
}

absl::StatusOr<std::vector<float>> InterpBackend::Prefill(const ir::Literal& window, int64_t pos) {
  kv_ = state_;  // the parameters as they are now
  for (ir::ValueId v : decode_.States())
    kv_[decode_.value(v).name] = ir::Literal(decode_.value(v).type);
  ir::LiteralMap in = {{"tokens", window}, {"position", ir::Literal(ir::I32({1}), {0})}};
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, ir::InterpretStep(prefill_, kv_, in, options_));
  return LogitsRow(out[0], pos);
}

absl::StatusOr<std::vector<float>> InterpBackend::Decode(int32_t token, int64_t pos) {
  if (kv_.empty())
    return absl::FailedPreconditionError("Decode before Prefill: the KV cache is empty");
  ir::LiteralMap in = {{"tokens", ir::Literal(ir::I32({1, 1}), {static_cast<double>(token)})},
                       {"position", ir::Literal(ir::I32({1}), {static_cast<double>(pos)})}};
  ASSIGN_OR_RETURN(std::vector<ir::Literal> out, ir::InterpretStep(decode_, kv_, in, options_));
  return LogitsRow(out[0], 0);
}

absl::StatusOr<std::vector<Checkpoint::Tensor>> InterpBackend::StateTensors() const {
  std::vector<Checkpoint::Tensor> out;
  for (const auto& [name, lit] : state_)  // the gradient sums are zero between steps
    if (!absl::StartsWith(name, passes::kGradAccumPrefix))
      out.push_back({name, lit.type.shape, lit.ToFloats(), nullptr});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

absl::Status InterpBackend::SetState(const std::string& name, const ir::Literal& value) {
  auto it = state_.find(name);
  if (it == state_.end())
    return absl::NotFoundError(absl::StrCat("the model has no tensor %", name));
  if (it->second.type != value.type)
    return absl::InvalidArgumentError(absl::StrCat("tensor %", name, " is ",
                                                   ir::TypeToString(it->second.type), ", given ",
                                                   ir::TypeToString(value.type)));
  it->second = value;
  return absl::OkStatus();
}

}  // namespace gptc
