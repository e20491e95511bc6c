// Elementwise ops and constants: every operand seen as 1-D, one vectorised loop.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

// Halide 14 lowers tanh to a scalar libm call per element (4 ms for 400K elements here);
// through exp, which Halide vectorises, it is one exp and one division. The form
// 1 - 2 / (e^{2u} + 1) saturates correctly at both ends (e^{2u} = inf gives 1, 0 gives -1).
Expr Tanh(Expr u) { return 1.0f - 2.0f / (exp(2.0f * u) + 1.0f); }

Expr GeluExpr(Expr x) {
  const float k = 0.7978845608028654f;
  return 0.5f * x * (1.0f + Tanh(k * (x + 0.044715f * x * x * x)));
}

Expr GeluGradExpr(Expr x, Expr dy) {
  const float k = 0.7978845608028654f;
  Expr th = Tanh(k * (x + 0.044715f * x * x * x));
  Expr du = k * (1.0f + 3.0f * 0.044715f * x * x);
  return dy * (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du);
}

// erf(x) as x P(x^2) / Q(x^2) on x clamped to [-4, 4] (float32's erf is +-1 beyond), the
// coefficients fitted by scripts/fit_erf.py (relative error 6.6e-8 in exact arithmetic, a few
// float32 ulps as evaluated here). Halide's erf takes a division, an exp and a ten-term
// polynomial; this one a division and ten FMAs: the GELU kernels were bound by erf (bf16
// baby's forward GELU moved 13 GB/s).
Expr Erf(Expr x) {
  static constexpr float kP[] = {1.128379094e+00f, 2.070436243e-01f, 5.151367776e-02f,
                                 3.986996844e-03f, 1.471951578e-04f, -1.941870959e-06f,
                                 1.911127806e-08f};
  static constexpr float kQ[] = {1.0f, 5.168188950e-01f, 1.179366518e-01f, 1.495086661e-02f,
                                 1.020228482e-03f};
  Expr c = clamp(x, -4.0f, 4.0f);
  Expr t = c * c;
  Expr p = kP[6], q = kQ[4];
  for (int i = 5; i >= 0; --i) p = p * t + kP[i];
  for (int i = 3; i >= 0; --i) q = q * t + kQ[i];
  return c * p / q;
}

// The exact GELU, x Phi(x) = x (1 + erf(x / sqrt 2)) / 2.
Expr GeluErfExpr(Expr x) { return 0.5f * x * (1.0f + Erf(x * 0.70710678118654752f)); }

Expr GeluErfGradExpr(Expr x, Expr dy) {
  Expr pdf = exp(-0.5f * x * x) * 0.3989422804014327f;  // 1 / sqrt(2 pi)
  return dy * (0.5f * (1.0f + Erf(x * 0.70710678118654752f)) + x * pdf);
}

// x^p for a constant p. A small integer power is a product (defined for negative x, as
// std::pow is); any other is exp(p log x), which Halide vectorises where pow is a libm call.
Expr PowExpr(Expr x, float p) {
  const float r = std::round(p);
  if (r == p && std::abs(r) <= 8) {
    Expr y = 1.0f;
    for (int i = 0; i < static_cast<int>(std::abs(r)); ++i) y = y * x;
    return r < 0 ? 1.0f / y : y;
  }
  return exp(p * log(x));
}

// The Halide expressions of the unary, binary and ternary families: one case per op, in float32.
Expr UnaryExpr(ir::UnaryOp op, Expr x, float attr) {
  using U = ir::UnaryOp;
  switch (op) {
    case U::kNeg:
      return -x;
    case U::kScale:
      return x * attr;
    case U::kExp:
      return exp(x);
    case U::kLog:
      return log(x);
    case U::kSqrt:
      return sqrt(x);
    case U::kRsqrt:  // not fast_inverse_sqrt: its 12-bit estimate is off by 2e-4
      return 1.0f / sqrt(x);
    case U::kTanh:
      return Tanh(x);
    case U::kGelu:
      return GeluExpr(x);
    case U::kGeluErf:
      return GeluErfExpr(x);
    case U::kStep:
      return select(x >= 0.0f, 1.0f, 0.0f);
    case U::kSin:  // accurate, not fast_sin: rotary tables are made once and must be exact
      return sin(x);
    case U::kCos:
      return cos(x);
    case U::kSigmoid:
      return 1.0f / (1.0f + exp(-x));
    case U::kSilu:
      return x / (1.0f + exp(-x));
    case U::kPow:
      return PowExpr(x, attr);
    case U::kStopGradient:
      return x;
  }
  return Expr();
}

Expr BinaryExpr(ir::BinaryOp op, Expr a, Expr b) {
  using B = ir::BinaryOp;
  switch (op) {
    case B::kAdd:
      return a + b;
    case B::kSub:
      return a - b;
    case B::kMul:
      return a * b;
    case B::kDiv:
      return a / b;
    case B::kMinimum:
      return min(a, b);
    case B::kMaximum:
      return max(a, b);
    case B::kGeluGrad:
      return GeluGradExpr(a, b);
    case B::kGeluErfGrad:
      return GeluErfGradExpr(a, b);
  }
  return Expr();
}

Expr TernaryExpr(ir::TernaryOp op, Expr a, Expr b, Expr c) {
  switch (op) {
    case ir::TernaryOp::kSelect:
      return select(a != 0.0f, b, c);
  }
  return Expr();
}

}  // namespace

Expr ElementwiseExpr(ir::Op op, const ir::Attrs& attrs, const std::vector<Expr>& a, ir::DType out) {
  using F = ir::Family;
  switch (ir::FamilyOf(op)) {
    case F::kFill:
      switch (ir::As<ir::FillOp>(op)) {
        case ir::FillOp::kConstant: {
          const double v = *attrs.GetFloat("value");
          if (out == ir::DType::kI32) return Expr(static_cast<int32_t>(v));
          return cast(HalideType(out), Expr(static_cast<float>(v)));
        }
        case ir::FillOp::kIota:  // depends on the element's index: Elementwise() lowers it
          break;
      }
      break;
    case F::kUnary: {
      const char* attr = ir::GetOpInfo(op).attr;
      return UnaryExpr(ir::As<ir::UnaryOp>(op), a[0],
                       attr ? static_cast<float>(*attrs.GetFloat(attr)) : 0.0f);
    }
    case F::kBinary:
      return BinaryExpr(ir::As<ir::BinaryOp>(op), a[0], a[1]);
    case F::kTernary:
      return TernaryExpr(ir::As<ir::TernaryOp>(op), a[0], a[1], a[2]);
    case F::kCast:  // to bf16: round to nearest even, as ir::RoundToBF16
      return cast(HalideType(out), a[0]);
    // Not elementwise.
    case F::kDecl:
    case F::kLookup:
    case F::kLinalg:
    case F::kLayout:
    case F::kReduction:
    case F::kNorm:
    case F::kSoftmax:
    case F::kLoss:
    case F::kRandom:
    case F::kDecode:
    case F::kActivation:
    case F::kAttention:
    case F::kOptimizer:
    case F::kCollective:
    case F::kFusion:
      break;
  }
  return Expr();
}

absl::Status Elementwise(Ctx& c) {
  using ir::Op;
  const int64_t n = std::max<int64_t>(1, c.spec.outputs[0].num_elements());
  const bool erf_gelu = c.spec.op == Op::kBiasGeluErf || c.spec.op == Op::kBiasGeluErfGrad;
  if (c.spec.op == Op::kBiasGelu || c.spec.op == Op::kBiasGeluGrad || erf_gelu) {
    // x [rows, cols] + bias [cols], then GELU or its gradient against dy [rows, cols].
    const int64_t cols = c.spec.inputs[1].shape.back(), rows = n / cols;
    Var col("c"), row("r"), ri;
    // An operand may come in bf16 (kLoadsBF16: the saved pre-activation): widened on load.
    auto f32 = [](Expr e) { return cast(Float(32), e); };
    Expr pre = f32(c.Input(0, {rows, cols})(col, row)) + f32(c.Input(1, {cols})(col));
    Func f("f");
    Expr value;
    if (c.spec.op == Op::kBiasGelu || c.spec.op == Op::kBiasGeluErf) {
      value = erf_gelu ? GeluErfExpr(pre) : GeluExpr(pre);
    } else {
      Expr dy = f32(c.Input(2, {rows, cols})(col, row));
      value = erf_gelu ? GeluErfGradExpr(pre, dy) : GeluGradExpr(pre, dy);
    }
    // The result (rounded to bf16 if the node stores it so) and any bf16 copies of it.
    const std::vector<Expr> values = c.WithCopies(0, value);
    if (values.size() == 1) {
      f(col, row) = values[0];
    } else {
      f(col, row) = Tuple(values);
    }
    c.BindOutputs(c.ResultsOf(0));
    ScheduleRows(f, col, row, cols, rows, c.vec, &ri, /*min_parallel=*/1 << 15);
    c.Output(f, {rows, cols});
    return absl::OkStatus();
  }
  Var x("x");
  if (c.spec.op == Op::kIota) {  // the flat index's coordinate along the axis
    const ir::Shape& s = c.spec.outputs[0].shape;
    const int64_t axis = *c.spec.attrs.GetInt("axis");
    int64_t inner = 1;
    for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
    Func f("f");
    f(x) = cast(HalideType(c.spec.outputs[0].dtype),
                (x / static_cast<int>(inner)) % static_cast<int>(s[axis]));
    ScheduleFlat(f, x, n, c.vec);
    c.Output(f, {n});
    return absl::OkStatus();
  }
  std::vector<Expr> a;
  for (size_t i = 0; i < c.spec.inputs.size(); ++i)
    a.push_back(c.Input(static_cast<int>(i), {n})(x));
  Expr e = ElementwiseExpr(c.spec.op, c.spec.attrs, a, c.spec.outputs[0].dtype);
  if (!e.defined())
    return absl::UnimplementedError(
        absl::StrCat("codegen: no elementwise lowering for '", ir::OpName(c.spec.op), "'"));
  Func f("f");
  f(x) = e;
  ScheduleFlat(f, x, n, c.vec);
  c.Output(f, {n});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
