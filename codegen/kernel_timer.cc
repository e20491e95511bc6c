#include "codegen/kernel_timer.h"

#include <HalideRuntime.h>
#include <xmmintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "codegen/buffer_type.h"
#include "codegen/denormals.h"
#include "ir/status_macros.h"

namespace gptc::codegen {

struct KernelTimer::Buffers {
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<void, FreeDeleter>> memory;
  std::vector<int64_t> elems;  // each buffer's elements
  std::vector<std::vector<halide_dimension_t>> dims;
  std::vector<halide_buffer_t> bufs;
  std::vector<void*> argv;
};

namespace {

std::vector<int64_t> StridesOf(const std::vector<std::vector<int64_t>>& strides, size_t a,
                               const ir::Shape& view) {
  return a < strides.size() && !strides[a].empty() ? strides[a] : ir::Strides(view);
}

// One past the last element a strided view reaches.
int64_t Reach(const ir::Shape& view, const std::vector<int64_t>& strides) {
  int64_t elems = 1;
  for (size_t d = 0; d < view.size(); ++d) elems += (view[d] - 1) * strides[d];
  return elems;
}

}  // namespace

KernelTimer::~KernelTimer() = default;

absl::StatusOr<std::unique_ptr<KernelTimer>> KernelTimer::Create(const KernelArgs& args) {
  std::unique_ptr<KernelTimer> timer(new KernelTimer());
  timer->b_ = std::make_unique<Buffers>();
  Buffers* t = timer->b_.get();
  const size_t n = args.views.size();
  t->dims.resize(n);
  t->bufs.resize(n);
  t->argv.resize(n);
  uint32_t seed = 12345;
  for (size_t a = 0; a < n; ++a) {
    const ir::Shape& view = args.views[a];
    const std::vector<int64_t> strides = StridesOf(args.strides, a, view);
    const int64_t elems = Reach(view, strides);
    t->elems.push_back(elems);
    const size_t bytes =
        (static_cast<size_t>(elems * ir::DTypeBytes(args.dtypes[a])) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) return absl::ResourceExhaustedError("timing a kernel: out of memory");
    t->memory.emplace_back(p);
    for (int64_t e = 0; e < elems; ++e) {
      seed = seed * 1664525u + 1013904223u;
      const float x = static_cast<float>(seed >> 8) / static_cast<float>(1 << 24) - 0.5f;
      switch (args.dtypes[a]) {
        case ir::DType::kF32:
          static_cast<float*>(p)[e] = x;
          break;
        case ir::DType::kBF16:
          static_cast<uint16_t*>(p)[e] = ir::RoundedBF16Bits(x);
          break;
        case ir::DType::kI32:
          static_cast<int32_t*>(p)[e] = 0;  // always a valid id or target
          break;
      }
    }
    halide_buffer_t& hb = t->bufs[a];
    hb = halide_buffer_t();
    hb.host = static_cast<uint8_t*>(p);
    hb.type = BufferType(args.dtypes[a]);
    t->argv[a] = &hb;
  }
  RETURN_IF_ERROR(timer->SetViews(args.views, args.strides));
  return timer;
}

absl::Status KernelTimer::SetViews(const std::vector<ir::Shape>& views,
                                   const std::vector<std::vector<int64_t>>& strides_of) {
  Buffers* t = b_.get();
  if (views.size() != t->bufs.size())
    return absl::InternalError("timing a kernel: another number of arguments");
  for (size_t a = 0; a < views.size(); ++a) {
    const ir::Shape& view = views[a];
    const std::vector<int64_t> strides = StridesOf(strides_of, a, view);
    if (Reach(view, strides) > t->elems[a])
      return absl::InternalError("timing a kernel: a view reaches past its buffer");
    t->dims[a].resize(view.size());
    for (size_t d = 0; d < view.size(); ++d) {  // Halide's dimension 0 is the innermost axis
      const size_t axis = view.size() - 1 - d;
      t->dims[a][d] = halide_dimension_t(0, static_cast<int32_t>(view[axis]),
                                         static_cast<int32_t>(strides[axis]));
    }
    t->bufs[a].dimensions = static_cast<int32_t>(view.size());
    t->bufs[a].dim = t->dims[a].data();
  }
  return absl::OkStatus();
}

absl::StatusOr<double> KernelTimer::Time(KernelFn fn, int runs) {
  FlushDenormals();  // as the executable does
  double best = 1e30;
  for (int r = 0; r <= runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    if (int rc = fn(b_->argv.data()); rc != 0)
      return absl::InternalError(absl::StrCat("kernel failed with ", rc));
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) best = std::min(best, s);  // run 0 warms caches and the thread pool
    // A kernel this long is not changed by warm caches: its first run is its time (GPT-2's
    // logits GEMM takes seconds; timing it twice per candidate doubled a cold start).
    if (r == 0 && s > 0.25) return s;
  }
  return best;
}

}  // namespace gptc::codegen
