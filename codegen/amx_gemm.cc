#include "codegen/amx_gemm.h"

#include <HalideRuntime.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "codegen/amx_pack.h"
#include "codegen/amx_tiles.h"
#include "codegen/cpu_info.h"
#include "codegen/spin_pool.h"
#include "ir/types.h"

namespace gptc::codegen {
namespace {

constexpr int64_t kTile = 32;        // outputs per micro-kernel block side; K per tile
constexpr int64_t kTileElems = 512;  // bf16 per 1 KiB tile

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

std::atomic<int> mode_override{-1};

AmxMode FromEnvironment() {
  const char* env = std::getenv("GPTC_AMX");
  const std::string v = env ? env : "";
  if (v == "off") return AmxMode::kOff;
  if (v == "emulate") return AmxMode::kEmulated;
  return RequestAmx().ok ? AmxMode::kHardware : AmxMode::kOff;
}

// Grow-only, 64-byte aligned buffers reused from call to call: a step calls the GEMMs
// hundreds of times, and fresh megabytes would be page-faulted in each time.
struct Scratch {
  std::mutex mu;  // one product at a time uses the packing buffers
  std::unique_ptr<uint16_t[], decltype(&std::free)> a{nullptr, std::free}, b{nullptr, std::free};
  size_t a_size = 0, b_size = 0;
  static uint16_t* Ensure(std::unique_ptr<uint16_t[], decltype(&std::free)>& p, size_t& size,
                          size_t want) {
    if (want > size) {
      p.reset(static_cast<uint16_t*>(std::aligned_alloc(64, RoundUp(want * 2, 64))));
      size = want;
    }
    return p.get();
  }
};
Scratch& Buffers() {
  static Scratch* s = new Scratch();
  return *s;
}

struct Plan {
  const AmxProblem& p;
  AmxBlocking blk;
  int64_t kt, mp, np;
  const uint16_t* a;  // A in place or packed
  bool a_packed;
  const uint16_t* b;  // packed B
};

// One task: the block of outputs (ib, jb), K chunk by chunk, then the epilogue (bias, the
// output's strides, the edges).
void RunBlock(const Plan& pl, const amx::TileBackend& tiles, int64_t ib, int64_t jb) {
  const AmxProblem& p = pl.p;
  const int64_t i0 = ib * pl.blk.mb, j0 = jb * pl.blk.nb;
  const int64_t rows = std::min<int64_t>(pl.blk.mb, pl.mp - i0);
  const int64_t cols = std::min<int64_t>(pl.blk.nb, pl.np - j0);
  thread_local std::vector<float> block;
  block.resize(static_cast<size_t>(pl.blk.mb) * pl.blk.nb);
  const int64_t ld = pl.blk.nb;
  const int64_t chunk = pl.blk.kc / kTile;
  tiles.configure();
  for (int64_t k0 = 0; k0 < pl.kt; k0 += chunk) {
    const int64_t nk = std::min(chunk, pl.kt - k0);
    for (int64_t ii = 0; ii < rows; ii += kTile) {
      for (int64_t jj = 0; jj < cols; jj += kTile) {
        amx::TileStep s;
        const int64_t r = i0 + ii;
        if (pl.a_packed) {
          s.a0 = pl.a + PackedAIndex(r, k0 * kTile, pl.kt);
          s.a1 = pl.a + PackedAIndex(r + 16, k0 * kTile, pl.kt);
          s.a_stride = kTile * 2;
          s.a_step = kTileElems;
        } else {
          s.a0 = pl.a + r * p.a.rs + k0 * kTile;
          s.a1 = s.a0 + 16 * p.a.rs;
          s.a_stride = p.a.rs * 2;
          s.a_step = kTile;
        }
        s.b0 = pl.b + PackedBIndex(k0 * kTile, j0 + jj, pl.kt);
        s.b1 = pl.b + PackedBIndex(k0 * kTile, j0 + jj + 16, pl.kt);
        s.b_step = kTileElems;
        s.k_tiles = nk;
        s.c = block.data() + ii * ld + jj;
        s.c_stride = ld * 4;
        s.accumulate = k0 > 0;
        tiles.run(s);
      }
    }
  }
  tiles.release();
  const int64_t rm = std::min(rows, p.m - i0), cn = std::min(cols, p.n - j0);
  for (int64_t r = 0; r < rm; ++r) {
    const int64_t at = (i0 + r) * p.out_rs + j0 * p.out_cs;
    const float* src = block.data() + r * ld;
    auto value = [&](int64_t c) { return p.bias ? src[c] + p.bias[j0 + c] : src[c]; };
    if (p.out_bf16) {
      uint16_t* out = p.out_bf16 + at;
      for (int64_t c = 0; c < cn; ++c) out[c * p.out_cs] = ir::RoundedBF16Bits(value(c));
    } else {
      float* out = p.out + at;
      for (int64_t c = 0; c < cn; ++c) out[c * p.out_cs] = value(c);
    }
  }
}

}  // namespace

AmxMode AmxGemmMode() {
  static const AmxMode from_env = FromEnvironment();
  const int o = mode_override.load();
  return o < 0 ? from_env : static_cast<AmxMode>(o);
}

void SetAmxGemmMode(AmxMode mode) {
  if (mode == AmxMode::kHardware && !RequestAmx().ok) mode = AmxMode::kOff;
  mode_override.store(static_cast<int>(mode));
}

std::vector<AmxBlocking> AmxBlockingCandidates(int64_t m, int64_t n, int64_t k) {
  // Square-ish blocks of 64 or 128 outputs; the chunk keeps a block's A and B panels
  // (mb + nb) x kc bf16 within ~256 KiB of L2. Narrow products take one block across.
  std::vector<AmxBlocking> out;
  for (const AmxBlocking& b :
       {AmxBlocking{64, 64, 1024}, AmxBlocking{128, 64, 512}, AmxBlocking{128, 128, 512}}) {
    AmxBlocking c = b;
    c.mb = static_cast<int>(std::min<int64_t>(c.mb, RoundUp(m, kTile)));
    c.nb = static_cast<int>(std::min<int64_t>(c.nb, RoundUp(n, kTile)));
    c.kc = static_cast<int>(std::min<int64_t>(c.kc, RoundUp(k, kTile)));
    bool seen = false;
    for (const AmxBlocking& o : out) seen = seen || (o.mb == c.mb && o.nb == c.nb && o.kc == c.kc);
    if (!seen) out.push_back(c);
  }
  return out;
}

void AmxGemm(const AmxProblem& p, const AmxBlocking& blocking, bool emulated) {
  const amx::TileBackend& tiles = emulated ? amx::EmulatedTiles() : amx::HardwareTiles();
  Scratch& scratch = Buffers();
  std::lock_guard<std::mutex> lock(scratch.mu);
  const int64_t kt = RoundUp(p.k, kTile) / kTile;
  Plan pl{p, blocking, kt, RoundUp(p.m, kTile), RoundUp(p.n, kTile), nullptr, false, nullptr};
  uint16_t* b = Scratch::Ensure(scratch.b, scratch.b_size, pl.np * kt * kTile);
  PackB(p.b, p.k, p.n, b);
  pl.b = b;
  // A is read in place when its rows are contiguous and every tile is whole.
  pl.a_packed = !(p.a.cs == 1 && p.m % kTile == 0 && p.k % kTile == 0);
  if (pl.a_packed) {
    uint16_t* a = Scratch::Ensure(scratch.a, scratch.a_size, pl.mp * kt * kTile);
    PackA(p.a, p.m, p.k, pl.mp, a);
    pl.a = a;
  } else {
    pl.a = p.a.data;
  }
  const int64_t bm = (pl.mp + blocking.mb - 1) / blocking.mb;
  const int64_t bn = (pl.np + blocking.nb - 1) / blocking.nb;
  // Consecutive tasks share a column block, so the two threads share its B panel.
  SpinPool::Get().Run(static_cast<int>(bm * bn),
                      [&](int t) { RunBlock(pl, tiles, t % bm, t / bm); });
}

}  // namespace gptc::codegen

namespace {

using gptc::codegen::AmxBlocking;
using gptc::codegen::AmxProblem;
using gptc::codegen::Bf16View;

bool IsQuery(const halide_buffer_t* b) { return b->host == nullptr && b->device == 0; }

// Element offset of the batch entry (bo, h) of a 4-D view; an operand shared by the batch
// (extent 1) is read at 0.
int64_t BatchOffset(const halide_buffer_t* b, int64_t h, int64_t bo) {
  const int64_t hh = b->dim[2].extent == 1 ? 0 : h, bb = b->dim[3].extent == 1 ? 0 : bo;
  return hh * b->dim[2].stride + bb * b->dim[3].stride;
}

int Run(int32_t form, int32_t mb, int32_t nb, int32_t kc, halide_buffer_t* a, halide_buffer_t* b,
        halide_buffer_t* bias, halide_buffer_t* out) {
  // Bounds queries: the operands are whole input buffers, so there is nothing to ask for.
  if (IsQuery(a) || IsQuery(b) || IsQuery(out) || (bias && IsQuery(bias))) return 0;
  const bool ta = form & 1, tb = form & 2, emulated = form & 4;
  if (a->dimensions != 4 || b->dimensions != 4 || out->dimensions != 4 || a->type.bits != 16 ||
      b->type.bits != 16 || (out->type.bits != 32 && out->type.code != halide_type_bfloat))
    return -1;
  const bool bf16_out = out->type.bits == 16;
  AmxProblem p;
  p.n = out->dim[0].extent;
  p.m = out->dim[1].extent;
  p.k = ta ? a->dim[1].extent : a->dim[0].extent;
  p.out_rs = out->dim[1].stride;
  p.out_cs = out->dim[0].stride;
  p.a.rs = ta ? a->dim[0].stride : a->dim[1].stride;
  p.a.cs = ta ? a->dim[1].stride : a->dim[0].stride;
  p.b.rs = tb ? b->dim[0].stride : b->dim[1].stride;
  p.b.cs = tb ? b->dim[1].stride : b->dim[0].stride;
  if (bias) {
    if (bias->dim[0].stride != 1) return -1;
    p.bias = reinterpret_cast<const float*>(bias->host);
  }
  const AmxBlocking blk{mb, nb, kc};
  for (int64_t bo = 0; bo < out->dim[3].extent; ++bo) {
    for (int64_t h = 0; h < out->dim[2].extent; ++h) {
      p.a.data = reinterpret_cast<const uint16_t*>(a->host) + BatchOffset(a, h, bo);
      p.b.data = reinterpret_cast<const uint16_t*>(b->host) + BatchOffset(b, h, bo);
      if (bf16_out) {
        p.out_bf16 = reinterpret_cast<uint16_t*>(out->host) + BatchOffset(out, h, bo);
      } else {
        p.out = reinterpret_cast<float*>(out->host) + BatchOffset(out, h, bo);
      }
      gptc::codegen::AmxGemm(p, blk, emulated);
    }
  }
  return 0;
}

}  // namespace

extern "C" int gptc_amx_matmul(int32_t form, int32_t mb, int32_t nb, int32_t kc, halide_buffer_t* a,
                               halide_buffer_t* b, halide_buffer_t* out) {
  return Run(form, mb, nb, kc, a, b, nullptr, out);
}

extern "C" int gptc_amx_matmul_bias(int32_t form, int32_t mb, int32_t nb, int32_t kc,
                                    halide_buffer_t* a, halide_buffer_t* b, halide_buffer_t* bias,
                                    halide_buffer_t* out) {
  return Run(form, mb, nb, kc, a, b, bias, out);
}
