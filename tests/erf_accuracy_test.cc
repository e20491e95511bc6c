// The exact GELU's compiled kernels (gelu_erf, gelu_erf_grad; the fused bias forms share the
// expressions, codegen/lower_elementwise.cc) on a dense grid of x from -8 to 8, against the
// GELU and its derivative in double precision with std::erf: the rational erf fitted by
// scripts/fit_erf.py, clamped at |x / sqrt 2| = 4, must stay within a few float32 ulps
// everywhere, including both tails and the clamp.
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ir/literal.h"
#include "ir/parser.h"
#include "tests/jit_test_util.h"

namespace gptc {
namespace {

constexpr int kPoints = 16001;  // x = -8 ... 8 in steps of 1/1000

std::vector<float> Grid() {
  std::vector<float> x(kPoints);
  for (int i = 0; i < kPoints; ++i) x[i] = static_cast<float>(-8.0 + 16.0 * i / (kPoints - 1));
  return x;
}

double Gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double GeluGrad(double x) {
  return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) +
         x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
}

// Runs `op` on the grid (and dy = 1 for the gradient) and returns the results.
std::vector<double> RunGrid(const std::string& op, bool grad) {
  const std::string t = absl::StrCat("f32[", kPoints, "]");
  const std::string text =
      grad ? absl::StrCat("graph g(%x: ", t, ", %dy: ", t, ") {\n  %y = ", t, " ", op,
                          "(%x, %dy)\n  return %y\n}")
           : absl::StrCat("graph g(%x: ", t, ") {\n  %y = ", t, " ", op, "(%x)\n  return %y\n}");
  auto g = ir::ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  ir::LiteralMap args;
  args["x"] = ir::Literal::FromFloats({kPoints}, Grid());
  if (grad) args["dy"] = ir::Literal::FromFloats({kPoints}, std::vector<float>(kPoints, 1.0f));
  auto out = testing::RunOnJit(*g, args);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? (*out)[0].data : std::vector<double>();
}

// |jit - exact| <= 2.5e-7 max(1, |x|): about two ulps of the result's scale (x (1 + erf) / 2 loses
// relative accuracy in the negative tail to cancellation in any float32 evaluation).
void ExpectClose(const std::vector<double>& got, double (*exact)(double)) {
  ASSERT_EQ(got.size(), static_cast<size_t>(kPoints));
  const std::vector<float> x = Grid();
  double worst = 0;
  int at = 0;
  for (int i = 0; i < kPoints; ++i) {
    const double err = std::abs(got[i] - exact(x[i])) / std::max(1.0, std::abs(double(x[i])));
    if (err > worst) worst = err, at = i;
  }
  EXPECT_LE(worst, 2.5e-7) << "at x = " << x[at] << ": " << got[at] << " against " << exact(x[at]);
}

TEST(ErfAccuracy, GeluMatchesTheExactFunctionOnADenseGrid) {
  ExpectClose(RunGrid("gelu_erf", false), Gelu);
}

TEST(ErfAccuracy, GeluGradientMatchesTheExactFunctionOnADenseGrid) {
  ExpectClose(RunGrid("gelu_erf_grad", true), GeluGrad);
}

}  // namespace
}  // namespace gptc
