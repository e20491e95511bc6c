// Elementwise ops and constants.
#include <algorithm>
#include <cmath>

#include "ir/interp_kernels.h"

namespace gptc::ir::interp {

double Gelu(double x) {
  constexpr double kSqrt2OverPi = 0.7978845608028654;
  return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
}

double GeluGrad(double x, double dy) {
  constexpr double kSqrt2OverPi = 0.7978845608028654;
  const double th = std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x));
  const double du = kSqrt2OverPi * (1.0 + 3.0 * 0.044715 * x * x);
  return dy * (0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du);
}

absl::StatusOr<Literal> Elementwise(const Node& n, const Args& in, const TensorType& out) {
  Literal r(out);
  const int64_t size = r.size();
  if (n.op == Op::kConstant) {
    const double v = *n.attrs.GetFloat("value");
    for (double& x : r.data) x = v;
    return r;
  }
  const std::vector<double>& a = in[0]->data;
  if (in.size() == 2) {
    const std::vector<double>& b = in[1]->data;
    for (int64_t i = 0; i < size; ++i) {
      switch (n.op) {
        case Op::kAdd:
          r.data[i] = a[i] + b[i];
          break;
        case Op::kSub:
          r.data[i] = a[i] - b[i];
          break;
        case Op::kMul:
          r.data[i] = a[i] * b[i];
          break;
        case Op::kDiv:
          r.data[i] = a[i] / b[i];
          break;
        case Op::kMinimum:
          r.data[i] = std::min(a[i], b[i]);
          break;
        case Op::kGeluGrad:
          r.data[i] = GeluGrad(a[i], b[i]);
          break;
        // Not binary elementwise ops: listed, so a new row of ops.def is decided here.
        case Op::kInput:
        case Op::kParam:
        case Op::kState:
        case Op::kConstant:
        case Op::kEmbedding:
        case Op::kNeg:
        case Op::kScale:
        case Op::kExp:
        case Op::kLog:
        case Op::kSqrt:
        case Op::kTanh:
        case Op::kGelu:
        case Op::kStep:
        case Op::kCast:
        case Op::kMatMul:
        case Op::kReshape:
        case Op::kTranspose:
        case Op::kSlice:
        case Op::kConcat:
        case Op::kBroadcast:
        case Op::kExpand:
        case Op::kSum:
        case Op::kMean:
        case Op::kMax:
        case Op::kLayerNorm:
        case Op::kSoftmax:
        case Op::kCausalMask:
        case Op::kXent:
        case Op::kDropout:
        case Op::kPositionMask:
        case Op::kCacheWrite:
        case Op::kLayerNormGrad:
        case Op::kSoftmaxGrad:
        case Op::kXentGrad:
        case Op::kEmbeddingGrad:
        case Op::kAddLayerNorm:
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
          return absl::InternalError("not a binary elementwise op");
      }
    }
    return r;
  }
  const double factor = n.op == Op::kScale ? *n.attrs.GetFloat("factor") : 0.0;
  for (int64_t i = 0; i < size; ++i) {
    const double x = a[i];
    switch (n.op) {
      case Op::kNeg:
        r.data[i] = -x;
        break;
      case Op::kScale:
        r.data[i] = x * factor;
        break;
      case Op::kExp:
        r.data[i] = std::exp(x);
        break;
      case Op::kLog:
        r.data[i] = std::log(x);
        break;
      case Op::kSqrt:
        r.data[i] = std::sqrt(x);
        break;
      case Op::kTanh:
        r.data[i] = std::tanh(x);
        break;
      case Op::kGelu:
        r.data[i] = Gelu(x);
        break;
      case Op::kStep:
        r.data[i] = x >= 0 ? 1.0 : 0.0;
        break;
      case Op::kCast:  // the caller rounds to the result's type
        r.data[i] = x;
        break;
      // Not unary elementwise ops: listed, so a new row of ops.def is decided here.
      case Op::kInput:
      case Op::kParam:
      case Op::kState:
      case Op::kConstant:
      case Op::kEmbedding:
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMinimum:
      case Op::kMatMul:
      case Op::kReshape:
      case Op::kTranspose:
      case Op::kSlice:
      case Op::kConcat:
      case Op::kBroadcast:
      case Op::kExpand:
      case Op::kSum:
      case Op::kMean:
      case Op::kMax:
      case Op::kLayerNorm:
      case Op::kSoftmax:
      case Op::kCausalMask:
      case Op::kXent:
      case Op::kDropout:
      case Op::kPositionMask:
      case Op::kCacheWrite:
      case Op::kGeluGrad:
      case Op::kLayerNormGrad:
      case Op::kSoftmaxGrad:
      case Op::kXentGrad:
      case Op::kEmbeddingGrad:
      case Op::kAddLayerNorm:
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
        return absl::InternalError("not a unary elementwise op");
    }
  }
  return r;
}

}  // namespace gptc::ir::interp
