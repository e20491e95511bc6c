#include "ir/interpreter.h"

#include "absl/strings/str_cat.h"
#include "ir/interp_kernels.h"
#include "ir/printer.h"
#include "ir/status_macros.h"

namespace gptc::ir {
namespace {}  // namespace

namespace interp {

void RoundToStorage(Literal& l, Precision p) {
  switch (l.type.dtype) {
    case DType::kF32:
      if (p == Precision::kF32)
        for (double& x : l.data) x = static_cast<double>(static_cast<float>(x));
      return;
    case DType::kBF16:  // bf16 is a storage type: its rounding is its meaning, in either mode
      for (double& x : l.data) x = RoundToBF16(x);
      return;
    case DType::kI32:
      return;
  }
}

}  // namespace interp

namespace {

using Results = absl::StatusOr<std::vector<Literal>>;

Results One(absl::StatusOr<Literal> r) {
  if (!r.ok()) return r.status();
  std::vector<Literal> out;
  out.push_back(*std::move(r));
  return out;
}

// Every family is listed (no default), and within a family every op, so a new row of ops.def
// does not compile until the interpreter knows it. Fused ops never get here: they run their
// bodies (EvalNode).
Results EvalOp(const Node& n, const interp::Args& in, const TensorType& out) {
  switch (FamilyOf(n.op)) {
    case Family::kDecl:  // bound from the arguments (InterpretAll)
      break;
    case Family::kFill:
      return One(interp::Fill(n, out));
    case Family::kUnary:
      return One(interp::Unary(n, in, out));
    case Family::kBinary:
      return One(interp::Binary(n, in, out));
    case Family::kTernary:
      return One(interp::Ternary(n, in, out));
    case Family::kCast:
      return One(interp::Cast(in, out));
    case Family::kLookup:
      switch (As<LookupOp>(n.op)) {
        case LookupOp::kEmbedding:
          return One(interp::Embedding(n, in, out));
        case LookupOp::kEmbeddingGrad:
          return One(interp::EmbeddingGrad(n, in, out));
        case LookupOp::kGather:
          return One(interp::Gather(n, in, out));
        case LookupOp::kGatherGrad:
          return One(interp::GatherGrad(n, in, out));
      }
      break;
    case Family::kLinalg:
      switch (As<LinalgOp>(n.op)) {
        case LinalgOp::kMatMul:
          return One(interp::MatMul(n, in, out));
        case LinalgOp::kMatMulBias:
        case LinalgOp::kMatMulAdd:
          break;
      }
      break;
    case Family::kLayout:
      return One(interp::Layout(n, in, out));
    case Family::kReduction:
      return One(interp::Reduce(n, in, out));
    case Family::kNorm:
      switch (As<NormOp>(n.op)) {
        case NormOp::kLayerNorm:
          return One(interp::LayerNorm(n, in, out));
        case NormOp::kLayerNormGrad:
          return interp::LayerNormGrad(n, in);
        case NormOp::kAddLayerNorm:
        case NormOp::kAddLayerNormGrad:
          break;
      }
      break;
    case Family::kSoftmax:
      switch (As<SoftmaxOp>(n.op)) {
        case SoftmaxOp::kSoftmax:
          return One(interp::Softmax(n, in, out));
        case SoftmaxOp::kSoftmaxGrad:
          return One(interp::SoftmaxGrad(n, in, out));
        case SoftmaxOp::kCausalMask:
          return One(interp::CausalMask(n, in, out));
        case SoftmaxOp::kScaleMaskSoftmax:
        case SoftmaxOp::kScaleMaskSoftmaxGrad:
          break;
      }
      break;
    case Family::kLoss:
      switch (As<LossOp>(n.op)) {
        case LossOp::kXent:
          return One(interp::Xent(n, in, out));
        case LossOp::kXentGrad:
          return One(interp::XentGrad(n, in, out));
        case LossOp::kSoftmaxXent:
        case LossOp::kSoftmaxXentGrad:
          break;
      }
      break;
    case Family::kRandom:
      return One(interp::Dropout(n, in, out));
    case Family::kDecode:
      switch (As<DecodeOp>(n.op)) {
        case DecodeOp::kPositionMask:
          return One(interp::PositionMask(n, in, out));
        case DecodeOp::kCacheWrite:
          return One(interp::CacheWrite(n, in, out));
      }
      break;
    case Family::kCollective: {  // the interpreter is one replica: the identity
      std::vector<Literal> same;
      for (const Literal* l : in) same.push_back(*l);
      return same;
    }
    case Family::kActivation:
    case Family::kAttention:
    case Family::kOptimizer:
    case Family::kFusion:
      break;
  }
  return absl::UnimplementedError(
      absl::StrCat("interpreter: '", OpName(n.op), "' is not evaluated on its own"));
}

absl::StatusOr<std::vector<Literal>> InterpretBody(const Node& n, const interp::Args& in,
                                                   const InterpOptions& options);

absl::Status BindArgument(const Graph& g, const Node& n, const LiteralMap& args,
                          const InterpOptions& options, Literal& slot) {
  const Value& v = g.value(n.outputs[0]);
  auto it = args.find(v.name);
  if (it == args.end())
    return absl::InvalidArgumentError(absl::StrCat("interpreter: no value given for ", OpName(n.op),
                                                   " %", v.name, ": ", TypeToString(v.type)));
  if (it->second.type != v.type || it->second.size() != v.type.num_elements())
    return absl::InvalidArgumentError(
        absl::StrCat("interpreter: %", v.name, " expects ", TypeToString(v.type), ", given ",
                     TypeToString(it->second.type), " with ", it->second.size(), " elements"));
  slot = it->second;
  interp::RoundToStorage(slot, options.precision);
  return absl::OkStatus();
}

// A fused op means its body: run it with the operands bound to the body's inputs. In float32
// mode every intermediate is rounded as the unfused graph would round it.
absl::StatusOr<std::vector<Literal>> InterpretBody(const Node& n, const interp::Args& in,
                                                   const InterpOptions& options) {
  LiteralMap args;
  const Graph& body = *n.body;
  for (size_t i = 0; i < in.size(); ++i)
    args[body.value(body.node(static_cast<NodeId>(i)).outputs[0]).name] = *in[i];
  return Interpret(body, args, options);
}

}  // namespace

namespace interp {

absl::StatusOr<std::vector<Literal>> EvalNode(const Graph& g, const Node& n, const Args& in,
                                              const InterpOptions& options) {
  std::vector<Literal> out;
  if (n.body) {
    ASSIGN_OR_RETURN(out, InterpretBody(n, in, options));
  } else {
    ASSIGN_OR_RETURN(out, EvalOp(n, in, g.value(n.outputs[0]).type));
  }
  for (Literal& l : out) RoundToStorage(l, options.precision);
  return out;
}

}  // namespace interp

absl::StatusOr<std::vector<Literal>> InterpretAll(const Graph& g, const LiteralMap& args,
                                                  const InterpOptions& options) {
  std::vector<Literal> vals(g.num_values());
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    if (HasTrait(n.op, kDecl)) {
      RETURN_IF_ERROR(BindArgument(g, n, args, options, vals[n.outputs[0]]));
      continue;
    }
    interp::Args in;
    for (ValueId v : n.inputs) in.push_back(&vals[v]);
    auto r = interp::EvalNode(g, n, in, options);
    if (!r.ok())
      return absl::Status(r.status().code(),
                          absl::StrCat(r.status().message(), " in: ", PrintNode(g, id)));
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      interp::RoundToStorage((*r)[i], options.precision);
      vals[n.outputs[i]] = std::move((*r)[i]);
    }
  }
  return vals;
}

absl::StatusOr<std::vector<Literal>> Interpret(const Graph& g, const LiteralMap& args,
                                               const InterpOptions& options) {
  ASSIGN_OR_RETURN(std::vector<Literal> all, InterpretAll(g, args, options));
  std::vector<Literal> out;
  for (ValueId v : g.outputs()) out.push_back(all[v]);
  return out;
}

absl::StatusOr<std::vector<Literal>> InterpretStep(const Graph& g, LiteralMap& state,
                                                   const LiteralMap& inputs,
                                                   const InterpOptions& options) {
  if (options.memory != InterpOptions::Memory::kValues && g.planned())
    return InterpretStepInMemory(g, state, inputs, options);
  LiteralMap args = state;
  for (const auto& [name, lit] : inputs) args[name] = lit;
  ASSIGN_OR_RETURN(std::vector<Literal> all, InterpretAll(g, args, options));
  std::vector<Literal> out;
  for (ValueId v : g.outputs()) out.push_back(all[v]);
  for (const Graph::Update& u : g.updates()) state[g.value(u.target).name] = all[u.value];
  return out;
}

}  // namespace gptc::ir
