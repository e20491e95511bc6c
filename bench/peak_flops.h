// Measures this machine's float32 fused-multiply-add peak: independent FMA chains of the widest
// vectors the CPU has (enough to hide the FMA latency) on each of `threads` threads. The
// denominator of MFU.
#pragma once

namespace gptc {

double MeasurePeakGflops(int threads);
// The same for bf16 dot products accumulated in f32 (vdpbf16ps, 2 multiply-adds per f32 lane
// and instruction), the denominator of a bf16 step's MFU; 0 without AVX512_BF16.
double MeasureBf16PeakGflops(int threads);
// The same for AMX tiles (tdpbf16ps); 0 where AMX is off (codegen::RequestAmx says why).
double MeasureAmxPeakGflops(int threads);

}  // namespace gptc
