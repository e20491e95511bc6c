// Elementwise ops and constants. UnaryRef, BinaryRef and TernaryRef are the reference
// expressions of the unary, binary and ternary families: one case per op, in float64.
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

// The exact GELU, x Phi(x) with Phi the standard normal CDF; its derivative Phi(x) + x phi(x).
double GeluErf(double x) { return 0.5 * x * (1.0 + std::erf(x * M_SQRT1_2)); }

double GeluErfGrad(double x, double dy) {
  const double pdf = std::exp(-0.5 * x * x) * 0.3989422804014327;  // 1 / sqrt(2 pi)
  return dy * (0.5 * (1.0 + std::erf(x * M_SQRT1_2)) + x * pdf);
}

double UnaryRef(UnaryOp op, double x, double attr) {
  switch (op) {
    case UnaryOp::kNeg:
      return -x;
    case UnaryOp::kScale:
      return x * attr;
    case UnaryOp::kExp:
      return std::exp(x);
    case UnaryOp::kLog:
      return std::log(x);
    case UnaryOp::kSqrt:
      return std::sqrt(x);
    case UnaryOp::kRsqrt:
      return 1.0 / std::sqrt(x);
    case UnaryOp::kTanh:
      return std::tanh(x);
    case UnaryOp::kGelu:
      return Gelu(x);
    case UnaryOp::kGeluErf:
      return GeluErf(x);
    case UnaryOp::kStep:
      return x >= 0 ? 1.0 : 0.0;
    case UnaryOp::kSin:
      return std::sin(x);
    case UnaryOp::kCos:
      return std::cos(x);
    case UnaryOp::kSigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case UnaryOp::kSilu:
      return x / (1.0 + std::exp(-x));
    case UnaryOp::kPow:
      return std::pow(x, attr);
    case UnaryOp::kStopGradient:
      return x;
  }
  return 0;
}

double BinaryRef(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd:
      return a + b;
    case BinaryOp::kSub:
      return a - b;
    case BinaryOp::kMul:
      return a * b;
    case BinaryOp::kDiv:
      return a / b;
    case BinaryOp::kMinimum:
      return std::min(a, b);
    case BinaryOp::kMaximum:
      return std::max(a, b);
    case BinaryOp::kGeluGrad:
      return GeluGrad(a, b);
    case BinaryOp::kGeluErfGrad:
      return GeluErfGrad(a, b);
  }
  return 0;
}

double TernaryRef(TernaryOp op, double a, double b, double c) {
  switch (op) {
    case TernaryOp::kSelect:
      return a != 0 ? b : c;
  }
  return 0;
}

absl::StatusOr<Literal> Fill(const Node& n, const TensorType& out) {
  Literal r(out);
  switch (As<FillOp>(n.op)) {
    case FillOp::kConstant: {
      const double v = *n.attrs.GetFloat("value");
      for (double& x : r.data) x = v;
      break;
    }
    case FillOp::kIota: {  // row-major: the index along axis is (i / inner) % size
      const int axis = static_cast<int>(*n.attrs.GetInt("axis"));
      int64_t inner = 1;
      for (int d = axis + 1; d < out.rank(); ++d) inner *= out.shape[d];
      const int64_t size = out.shape[axis];
      for (int64_t i = 0; i < r.size(); ++i) r.data[i] = static_cast<double>((i / inner) % size);
      break;
    }
  }
  return r;
}

absl::StatusOr<Literal> Unary(const Node& n, const Args& in, const TensorType& out) {
  Literal r(out);
  const UnaryOp op = As<UnaryOp>(n.op);
  const char* attr_name = GetOpInfo(n.op).attr;
  const double attr = attr_name ? *n.attrs.GetFloat(attr_name) : 0.0;
  const std::vector<double>& a = in[0]->data;
  for (int64_t i = 0; i < r.size(); ++i) r.data[i] = UnaryRef(op, a[i], attr);
  return r;
}

absl::StatusOr<Literal> Binary(const Node& n, const Args& in, const TensorType& out) {
  Literal r(out);
  const BinaryOp op = As<BinaryOp>(n.op);
  const std::vector<double>&a = in[0]->data, &b = in[1]->data;
  for (int64_t i = 0; i < r.size(); ++i) r.data[i] = BinaryRef(op, a[i], b[i]);
  return r;
}

absl::StatusOr<Literal> Ternary(const Node& n, const Args& in, const TensorType& out) {
  Literal r(out);
  const TernaryOp op = As<TernaryOp>(n.op);
  const std::vector<double>&a = in[0]->data, &b = in[1]->data, &c = in[2]->data;
  for (int64_t i = 0; i < r.size(); ++i) r.data[i] = TernaryRef(op, a[i], b[i], c[i]);
  return r;
}

absl::StatusOr<Literal> Cast(const Args& in, const TensorType& out) {
  return Literal(out, in[0]->data);  // the caller rounds to the result's type
}

}  // namespace gptc::ir::interp
