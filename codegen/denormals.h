// Flush-to-zero and denormals-are-zero for the calling thread (its MXCSR): denormal floats
// made GEMM 200x slower (DESIGN.md). Every thread that runs kernels sets it: the executable's
// caller, the pool's workers, and the kernel timer.
#pragma once

#include <xmmintrin.h>

namespace gptc::codegen {

constexpr unsigned kMxcsrFtzDaz = 0x8040;  // FTZ (bit 15) | DAZ (bit 6)

inline void FlushDenormals() { _mm_setcsr(_mm_getcsr() | kMxcsrFtzDaz); }

}  // namespace gptc::codegen
