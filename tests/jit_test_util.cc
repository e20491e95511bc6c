#include "tests/jit_test_util.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "codegen/kernel_spec.h"
#include "gtest/gtest.h"
#include "ir/check.h"
#include "ir/rng.h"
#include "ir/status_macros.h"
#include "runtime/executable.h"

namespace gptc::testing {

std::string TestCacheDir() { return std::string(GPTC_BINARY_DIR) + "/test-kernel-cache"; }

codegen::KernelCompiler& SharedCompiler() {
  static codegen::KernelCompiler* kc = [] {
    codegen::CompilerOptions o;
    o.cache_dir = TestCacheDir();
    auto c = codegen::KernelCompiler::Create(o);
    GPTC_CHECK(c.ok()) << c.status();
    return c->release();
  }();
  return *kc;
}

ir::LiteralMap RandomArgs(const ir::Graph& g, uint64_t seed, int64_t int_limit, bool positive) {
  Rng rng(seed);
  ir::LiteralMap args;
  for (const ir::Node& n : g.nodes()) {
    if (!ir::HasTrait(n.op, ir::kDecl)) continue;
    const ir::Value& v = g.value(n.outputs[0]);
    ir::Literal l(v.type);
    for (double& x : l.data) {
      if (v.type.dtype == ir::DType::kI32)
        x = static_cast<double>(rng.UniformInt(int_limit));
      else
        x = positive ? 0.5 + rng.Uniform() : rng.Normal(0, 1);
    }
    args[v.name] = std::move(l);
  }
  return args;
}

absl::StatusOr<std::vector<ir::Literal>> RunOnJit(const ir::Graph& g, const ir::LiteralMap& args) {
  return RunOnJit(g, args, SharedCompiler());
}

absl::StatusOr<std::vector<ir::Literal>> RunOnJit(const ir::Graph& g, const ir::LiteralMap& args,
                                                  codegen::KernelCompiler& compiler) {
  StateStore st;
  ASSIGN_OR_RETURN(std::unique_ptr<Executable> ex, Executable::Create(g, compiler, st));
  for (const auto& [name, lit] : args)
    RETURN_IF_ERROR(st.Find(name) ? st.Set(name, lit) : ex->SetInput(name, lit));
  return ex->Run();
}

Mismatch CompareWithInterpreter(const ir::Graph& g, const ir::LiteralMap& args) {
  return CompareWithInterpreter(g, args, SharedCompiler());
}

Mismatch CompareWithInterpreter(const ir::Graph& g, const ir::LiteralMap& args,
                                codegen::KernelCompiler& compiler) {
  auto want = ir::InterpretAll(g, args);
  GPTC_CHECK(want.ok()) << want.status();
  StateStore store;
  auto ex = Executable::Create(g, compiler, store);
  GPTC_CHECK(ex.ok()) << ex.status();
  for (const auto& [name, lit] : args) {
    if (store.Find(name)) {
      GPTC_CHECK(store.Set(name, lit).ok());
    } else {
      absl::Status s = (*ex)->SetInput(name, lit);
      GPTC_CHECK(s.ok()) << s;
    }
  }
  auto run = (*ex)->Run();
  GPTC_CHECK(run.ok()) << run.status();
  std::vector<bool> skip(g.num_values(), false);
  for (const ir::Graph::Update& u : g.updates()) skip[u.value] = skip[u.target] = true;
  Mismatch m;
  for (ir::ValueId v = 0; v < g.num_values(); ++v) {
    if (skip[v]) continue;
    auto got = (*ex)->Read(g.value(v).name);
    GPTC_CHECK(got.ok()) << got.status();
    const ir::Literal& w = (*want)[v];
    double diff = 0, scale = 1;
    for (int64_t i = 0; i < w.size(); ++i) {
      diff = std::max(diff, std::abs(got->data[i] - w.data[i]));
      scale = std::max(scale, std::abs(w.data[i]));
    }
    if (!(diff / scale <= m.worst_rel)) {  // also catches NaN
      m.worst_rel = std::isnan(diff) ? INFINITY : diff / scale;
      m.where = absl::StrCat("%", g.value(v).name, " (", ir::TypeToString(g.value(v).type), ")");
    }
  }
  return m;
}

int ExpectEveryVariantClose(const ir::Graph& g, double tol) {
  const codegen::KernelSpec spec = codegen::KernelSpec::FromNode(g, g.nodes().back());
  auto variants = SharedCompiler().NumVariants(spec);
  EXPECT_TRUE(variants.ok()) << variants.status();
  if (!variants.ok()) return 0;
  EXPECT_GE(*variants, 2) << "the case should exercise several candidates";
  for (int v = 0; v < *variants; ++v) {
    codegen::CompilerOptions o;
    o.cache_dir = TestCacheDir();
    o.variant = v;
    auto compiler = codegen::KernelCompiler::Create(o);
    EXPECT_TRUE(compiler.ok()) << compiler.status();
    if (!compiler.ok()) return *variants;
    const Mismatch m = CompareWithInterpreter(g, RandomArgs(g, 5, 5), **compiler);
    EXPECT_LE(m.worst_rel, tol) << "variant " << v << ": worst at " << m.where;
  }
  return *variants;
}

Mismatch CompareStepOnLastVariants(const ir::Graph& step) {
  codegen::CompilerOptions o;
  o.cache_dir = TestCacheDir();
  o.variant = 1000;  // clamped to each kernel's last
  auto compiler = codegen::KernelCompiler::Create(o);
  EXPECT_TRUE(compiler.ok()) << compiler.status();
  if (!compiler.ok()) return {INFINITY, "no compiler"};
  ir::LiteralMap args = RandomArgs(step, 7, 65, /*positive=*/true);
  args["step"] = ir::Literal(ir::F32({}), {1.0});
  return CompareWithInterpreter(step, args, **compiler);
}

}  // namespace gptc::testing
