// The memory this process holds, as the kernel counts it (Linux /proc/self/status).
#pragma once

#include <cstdint>

namespace gptc {

// Peak resident set size (VmHWM) in bytes, or 0 where it cannot be read.
int64_t PeakResidentBytes();
// Resident set size now (VmRSS) in bytes, or 0 where it cannot be read.
int64_t ResidentBytes();
// Memory the system can still give without swapping (MemAvailable), in bytes; 0 if unknown.
int64_t AvailableMemoryBytes();

}  // namespace gptc
