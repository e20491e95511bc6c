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

// Every op is listed (no default), so a new row of ops.def does not compile until the
// interpreter knows it.
absl::StatusOr<Literal> EvalSingle(const Node& n, const interp::Args& in, const TensorType& out) {
  switch (n.op) {
    case Op::kConstant:
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMinimum:
    case Op::kNeg:
    case Op::kScale:
    case Op::kExp:
    case Op::kLog:
    case Op::kSqrt:
    case Op::kTanh:
    case Op::kGelu:
    case Op::kStep:
    case Op::kCast:
    case Op::kGeluGrad:
      return interp::Elementwise(n, in, out);
    case Op::kReshape:
    case Op::kTranspose:
    case Op::kSlice:
    case Op::kConcat:
    case Op::kBroadcast:
    case Op::kExpand:
      return interp::Layout(n, in, out);
    case Op::kSum:
    case Op::kMean:
    case Op::kMax:
      return interp::Reduce(n, in, out);
    case Op::kSoftmaxGrad:
      return interp::SoftmaxGrad(n, in, out);
    case Op::kXentGrad:
      return interp::XentGrad(n, in, out);
    case Op::kCausalMask:
      return interp::CausalMask(n, in, out);
    case Op::kDropout:
      return interp::Dropout(n, in, out);
    case Op::kPositionMask:
      return interp::PositionMask(n, in, out);
    case Op::kCacheWrite:
      return interp::CacheWrite(n, in, out);
    case Op::kEmbeddingGrad:
      return interp::EmbeddingGrad(n, in, out);
    case Op::kMatMul:
      return interp::MatMul(n, in, out);
    case Op::kEmbedding:
      return interp::Embedding(n, in, out);
    case Op::kLayerNorm:
      return interp::LayerNorm(n, in, out);
    case Op::kSoftmax:
      return interp::Softmax(n, in, out);
    case Op::kXent:
      return interp::Xent(n, in, out);
    case Op::kInput:
    case Op::kParam:
    case Op::kState:          // bound from the arguments (InterpretAll)
    case Op::kLayerNormGrad:  // three results (EvalNode)
    case Op::kAddLayerNorm:   // fused ops run their bodies (EvalNode)
    case Op::kAddLayerNormGrad:
    case Op::kScaleMaskSoftmax:
    case Op::kScaleMaskSoftmaxGrad:
    case Op::kMatMulBias:
    case Op::kBiasGelu:
    case Op::kBiasGeluGrad:
    case Op::kSoftmaxXent:
    case Op::kSoftmaxXentGrad:
    case Op::kCausalAttention:
    case Op::kCausalAttentionGrad:
    case Op::kAdamW:
    case Op::kAllReduce:
    case Op::kFusion:
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
  } else if (n.op == Op::kLayerNormGrad) {
    ASSIGN_OR_RETURN(out, LayerNormGrad(n, in));
  } else if (n.op == Op::kAllReduce) {  // the interpreter is one replica: the identity
    for (const Literal* l : in) out.push_back(*l);
  } else {
    ASSIGN_OR_RETURN(Literal r, EvalSingle(n, in, g.value(n.outputs[0]).type));
    out.push_back(std::move(r));
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
