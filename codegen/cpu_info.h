// What this CPU is and may run, read from CPUID (and, for AMX, granted by Linux): the model
// that tuned kernels are keyed on, the vector and matrix features kernels can be chosen by,
// and whether AMX tiles may be used by this process.
#pragma once

#include <string>

namespace gptc::codegen {

struct CpuInfo {
  std::string model;  // the brand string, e.g. "AMD EPYC 9B14" or "Intel(R) Xeon(R) ..."
  bool avx512f = false;
  bool avx512_bf16 = false;  // vdpbf16ps
  bool amx_tile = false;     // AMX tile registers (CPUID.(EAX=7,ECX=0):EDX[24])
  bool amx_bf16 = false;     // tdpbf16ps (EDX[22])
};

const CpuInfo& HostCpu();

// Linux grants AMX tile state to a process only on request (arch_prctl ARCH_REQ_XCOMP_PERM for
// XFEATURE_XTILEDATA); until then the first tile instruction is SIGILL. Requested once (the
// first call, before worker threads start); `ok` says whether tiles may be used, `why` in one
// line when not (the CPU flag missing, or the kernel's refusal).
struct AmxState {
  bool ok = false;
  std::string why;
};
const AmxState& RequestAmx();

// The CPU's model and the features above as one string, part of the kernel cache's keys: a
// cache copied to another machine retunes instead of running tiles chosen elsewhere.
std::string CpuKey();

}  // namespace gptc::codegen
