#include "tests/gradcheck.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "frontend/ops.h"
#include "gtest/gtest.h"
#include "ir/check.h"
#include "ir/rng.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/train_graphs.h"

namespace gptc::testing {

GradCheckResult GradCheck(const std::function<Tensor(Builder&, const std::vector<Tensor>&)>& f,
                          const std::vector<ir::Shape>& shapes, uint64_t seed, bool positive,
                          const ir::LiteralMap& extra, double h) {
  Builder b("gradcheck");
  std::vector<Tensor> params;
  for (size_t i = 0; i < shapes.size(); ++i)
    params.push_back(b.Param(absl::StrCat("p", i), ir::F32(shapes[i]), ParamInit::Zeros()));
  Tensor out = f(b, params);
  GPTC_CHECK(b.ok()) << b.status();
  Tensor r = b.Input("r", out.type());
  Tensor loss = Sum(Reshape(out * r, {-1}), 0).named("loss");
  auto fwd = b.Finish({loss});
  GPTC_CHECK(fwd.ok()) << fwd.status();
  auto g = passes::Autodiff(*fwd);
  GPTC_CHECK(g.ok()) << g.status();
  GPTC_CHECK(ir::Verify(*g).ok()) << ir::Verify(*g);

  Rng rng(seed);
  ir::LiteralMap args = extra;
  for (size_t i = 0; i < shapes.size(); ++i) {
    ir::Literal p(ir::F32(shapes[i]));
    for (double& x : p.data) x = positive ? 0.5 + rng.Uniform() : rng.Normal(0, 1);
    args[absl::StrCat("p", i)] = p;
  }
  ir::Literal rl(out.type());
  for (double& x : rl.data) x = rng.Normal(0, 1);
  args["r"] = rl;

  const ir::InterpOptions f64{ir::Precision::kF64};
  auto analytic = ir::Interpret(*g, args, f64);
  GPTC_CHECK(analytic.ok()) << analytic.status();
  auto loss_at = [&](const ir::LiteralMap& a) {
    auto o = ir::Interpret(*fwd, a, f64);
    GPTC_CHECK(o.ok()) << o.status();
    return (*o)[0].data[0];
  };
  GradCheckResult res;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::string name = absl::StrCat("p", i);
    const ir::Literal& grad = (*analytic)[1 + i];
    for (int64_t k = 0; k < grad.size(); ++k) {
      ir::LiteralMap a = args;
      a[name].data[k] += h;
      const double up = loss_at(a);
      a[name].data[k] -= 2 * h;
      const double down = loss_at(a);
      const double numeric = (up - down) / (2 * h);
      const double err = std::abs(grad.data[k] - numeric);
      res.max_abs_err = std::max(res.max_abs_err, err);
      const double rel = err / std::max(1.0, std::abs(numeric));
      if (rel > res.max_rel_err) {
        res.max_rel_err = rel;
        res.worst =
            absl::StrCat(name, "[", k, "]: analytic ", grad.data[k], " vs numeric ", numeric);
      }
      ++res.elements;
    }
  }
  return res;
}

void ExpectDirectionalGradients(const ir::Graph& forward, const std::vector<ParamSpec>& params,
                                const ir::LiteralMap& args, Rng& rng, double h) {
  auto fwd = passes::SelectOutputs(forward, {"loss"});
  ASSERT_TRUE(fwd.ok()) << fwd.status();
  auto g = passes::Autodiff(*fwd);
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::InterpOptions f64{ir::Precision::kF64};
  auto analytic = ir::Interpret(*g, args, f64);
  ASSERT_TRUE(analytic.ok()) << analytic.status();
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].name;
    SCOPED_TRACE(name);
    ir::Literal d(args.at(name).type);
    for (double& x : d.data) x = rng.Normal(0, 1);
    const ir::Literal& grad = (*analytic)[1 + i];
    ASSERT_EQ(grad.size(), d.size());
    double dot = 0;
    for (int64_t k = 0; k < d.size(); ++k) dot += grad.data[k] * d.data[k];
    auto loss_at = [&](double t) {
      ir::LiteralMap a = args;
      for (int64_t k = 0; k < d.size(); ++k) a[name].data[k] += t * d.data[k];
      return (*ir::Interpret(*fwd, a, f64))[0].data[0];
    };
    const double numeric = (loss_at(h) - loss_at(-h)) / (2 * h);
    EXPECT_NEAR(dot, numeric, 1e-6 * std::max(1e-3, std::abs(numeric)) + 1e-9)
        << "analytic " << dot << " numeric " << numeric;
  }
}

}  // namespace gptc::testing
