// Measures this machine's float32 fused-multiply-add peak: independent FMA chains of the widest
// vectors the CPU has (enough to hide the FMA latency) on each of `threads` threads. The
// denominator of MFU.
#pragma once

namespace gptc {

double MeasurePeakGflops(int threads);

}  // namespace gptc
