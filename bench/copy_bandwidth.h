// This machine's copy bandwidth by working-set size, the yardstick for memory-bound kernels:
// a kernel that moves B bytes is compared with copying B bytes' worth of data that lives in
// the same cache level. Bandwidth counts bytes read plus bytes written, as the kernels'
// byte counts do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gptc {

struct CopyBandwidth {
  std::string level;    // "L1", "L2", "L3", "DRAM"
  int64_t working_set;  // bytes read + written per pass, over all threads
  double gbytes_per_s;  // best of a few passes
};

// Measured with `threads` threads each copying its share (memcpy) of the working set.
std::vector<CopyBandwidth> MeasureCopyBandwidth(int threads);

// A copy that moves `bytes` (half read, half written) on the threads that run kernels, split
// into chunks the way a kernel's parallel loop is: timed next to a kernel that moves the same
// bytes, it is the kernel's memory-bound ideal at that working set and that moment.
class CopyProbe {
 public:
  explicit CopyProbe(int64_t bytes);
  ~CopyProbe();
  void Run();

 private:
  int64_t half_;
  char* src_;
  char* dst_;
};

// Median seconds of a CopyProbe of `bytes` started from a cold cache (128 MB written before
// each run): the yardstick for a kernel whose operands the rest of a step evicted, like the
// optimizer's at the end of a train step.
double ColdCopySeconds(int64_t bytes, int runs);

}  // namespace gptc
