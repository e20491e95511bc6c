// bf16 GEMMs on AMX tiles: out = op(A) op(B) (+ bias), f32 out, for every form a train step
// uses (A.B, A.B^T, A^T.B, batched). Halide 14's own AMX lowering covers only K = 2 of each
// tdpbf16ps, so the tile work is an ahead-of-time kernel (the _tile_* intrinsics) that a
// matmul's Halide pipeline calls as an extern stage (gptc_amx_matmul below); the GEMM tuner
// times it beside the vdpbf16ps and f32 FMA candidates and keeps the fastest per shape.
//
// The loop nest, after oneDNN's brgemm: B is packed once per call into the pair-interleaved
// layout the tiles read (K pairs as rows of 16 columns x 2); A is read in place when it is
// row-major with whole tiles, else packed into 16 x 32 tiles. Each parallel task owns a block
// of mb x nb outputs and walks K in chunks of kc (the A and B panels of a chunk stay in L2),
// with 2 x 2 accumulator tiles (32 x 32 outputs) per inner step; each task configures the
// tiles of its thread. The tile instructions come in two builds of one micro-kernel: the
// hardware's, and an emulation in plain C++ that does the same arithmetic, so the packing,
// blocking and extern wiring are tested on CPUs without AMX.
#pragma once

#include <cstdint>
#include <vector>

namespace gptc::codegen {

// Whether matmuls get AMX candidates. kHardware where the CPU has amx_tile + amx_bf16 and
// Linux granted the tile state; kEmulated only when asked (tests, GPTC_AMX=emulate): slow,
// for checking the code paths on other CPUs. GPTC_AMX=off turns AMX off on any CPU.
enum class AmxMode { kOff, kHardware, kEmulated };
AmxMode AmxGemmMode();
// Overrides the environment's choice (tests). kHardware where AMX is not granted is kOff.
void SetAmxGemmMode(AmxMode mode);

// A task's block of outputs and the reduction chunk; multiples of 32.
struct AmxBlocking {
  int mb = 64, nb = 64, kc = 512;
};
// The blockings the tuner times for an m x n x k product, best guess first.
std::vector<AmxBlocking> AmxBlockingCandidates(int64_t m, int64_t n, int64_t k);

// A bf16 matrix view: element (r, c) at data[r * rs + c * cs] (bf16 bits).
struct Bf16View {
  const uint16_t* data = nullptr;
  int64_t rs = 0, cs = 1;
};

// out[r][c] = sum_k a(r, k) b(k, c) + bias[c] for r < m, c < n; out row stride `out_rs`, column
// stride `out_cs` (elements); bias may be null. The result goes to `out` in f32, or to
// `out_bf16` rounded to bf16 (a matmul_bias that stores bf16: its cast kernel folded in).
struct AmxProblem {
  int64_t m = 0, n = 0, k = 0;
  Bf16View a, b;  // a: m x k, b: k x n
  float* out = nullptr;
  uint16_t* out_bf16 = nullptr;
  int64_t out_rs = 0, out_cs = 1;
  const float* bias = nullptr;
};

// Runs the product on the SpinPool's threads; `emulated` uses the plain C++ tiles.
void AmxGemm(const AmxProblem& p, const AmxBlocking& blocking, bool emulated);

}  // namespace gptc::codegen

// The extern stages' entry points (halide_buffer_t is Halide's runtime buffer). The operands
// are the 4-D views [batch, heads, rows, cols] of the matmul lowering; `form` bit 0: A is
// transposed, bit 1: B is transposed, bit 2: emulated tiles; mb/nb/kc: the blocking. A bias,
// when given, is a vector along the columns. Return 0, as Halide expects of an extern.
struct halide_buffer_t;
extern "C" int gptc_amx_matmul(int32_t form, int32_t mb, int32_t nb, int32_t kc, halide_buffer_t* a,
                               halide_buffer_t* b, halide_buffer_t* out);
extern "C" int gptc_amx_matmul_bias(int32_t form, int32_t mb, int32_t nb, int32_t kc,
                                    halide_buffer_t* a, halide_buffer_t* b, halide_buffer_t* bias,
                                    halide_buffer_t* out);
