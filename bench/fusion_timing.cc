#include "bench/fusion_timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "bench/copy_bandwidth.h"
#include "bench/interleaved.h"
#include "ir/rng.h"
#include "ir/status_macros.h"
#include "runtime/executable.h"

namespace gptc {
namespace {

// Inputs in [0.5, 1.5) (positive: an AdamW chain takes a square root of its second moment),
// integer inputs 0 (always a valid target or id).
absl::Status SetRandomInputs(const ir::Graph& g, Executable& ex, uint64_t seed) {
  Rng rng(seed);
  for (ir::ValueId v : g.Inputs()) {
    ir::Literal lit(g.value(v).type);
    if (lit.type.dtype == ir::DType::kF32)
      for (double& x : lit.data) x = 0.5 + rng.Uniform();
    RETURN_IF_ERROR(ex.SetInput(g.value(v).name, lit));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FusionTiming> TimeFusionCase(const passes::FusionCase& c,
                                            codegen::KernelCompiler& compiler, int runs) {
  StateStore store_u, store_f;
  ASSIGN_OR_RETURN(std::unique_ptr<Executable> u, Executable::Create(c.unfused, compiler, store_u));
  ASSIGN_OR_RETURN(std::unique_ptr<Executable> f, Executable::Create(c.fused, compiler, store_f));
  RETURN_IF_ERROR(SetRandomInputs(c.unfused, *u, 1));
  RETURN_IF_ERROR(SetRandomInputs(c.fused, *f, 1));
  FusionTiming t;
  t.unfused_kernels = u->num_kernel_calls();
  ASSIGN_OR_RETURN(std::vector<ir::Literal> ru, u->Run());
  ASSIGN_OR_RETURN(std::vector<ir::Literal> rf, f->Run());
  for (size_t i = 0; i < ru.size(); ++i)
    for (size_t e = 0; e < ru[i].data.size(); ++e)
      t.max_abs_diff = std::max(t.max_abs_diff, std::abs(ru[i].data[e] - rf[i].data[e]));
  std::vector<double> tu, tf, tc;
  using Clock = std::chrono::steady_clock;
  CopyProbe copy(c.fused_bytes);
  for (int r = 0; r < runs; ++r) {
    for (Executable* ex : {u.get(), f.get()}) {
      const auto start = Clock::now();
      RETURN_IF_ERROR(ex->Step());
      (ex == u.get() ? tu : tf)
          .push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    const auto start = Clock::now();
    copy.Run();
    tc.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  t.unfused_seconds = Median(tu);
  t.fused_seconds = Median(tf);
  t.copy_seconds = Median(tc);
  return t;
}

}  // namespace gptc
