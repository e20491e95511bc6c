#include "codegen/cpu_info.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gptc::codegen {
namespace {

// Linux's arch_prctl request for extended state, and the tile data component (asm/prctl.h,
// which older headers lack).
constexpr int kArchReqXcompPerm = 0x1023;
constexpr int kXfeatureXtiledata = 18;

CpuInfo Read() {
  CpuInfo c;
  unsigned a, b, cx, d;
  if (__get_cpuid_count(7, 0, &a, &b, &cx, &d)) {
    c.avx512f = b & (1u << 16);
    c.amx_bf16 = d & (1u << 22);
    c.amx_tile = d & (1u << 24);
  }
  if (__get_cpuid_count(7, 1, &a, &b, &cx, &d)) c.avx512_bf16 = a & (1u << 5);
  unsigned max_ext = __get_cpuid_max(0x80000000, nullptr);
  if (max_ext >= 0x80000004) {
    char brand[49] = {};
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      unsigned r[4];
      __get_cpuid(0x80000002 + leaf, &r[0], &r[1], &r[2], &r[3]);
      std::memcpy(brand + 16 * leaf, r, 16);
    }
    c.model = std::string(absl::StripAsciiWhitespace(brand));
  }
  if (c.model.empty()) c.model = "unknown x86-64";
  return c;
}

AmxState Request() {
  const CpuInfo& c = HostCpu();
  if (!c.amx_tile) return {false, "AMX is off: this CPU has no amx_tile (CPUID.7.0:EDX[24])"};
  if (!c.amx_bf16) return {false, "AMX is off: this CPU has no amx_bf16 (CPUID.7.0:EDX[22])"};
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0)
    return {false, absl::StrCat("AMX is off: Linux refused the tile state (arch_prctl "
                                "ARCH_REQ_XCOMP_PERM: ",
                                std::strerror(errno), ")")};
  return {true, ""};
}

}  // namespace

const CpuInfo& HostCpu() {
  static const CpuInfo* c = new CpuInfo(Read());
  return *c;
}

const AmxState& RequestAmx() {
  static const AmxState* s = new AmxState(Request());
  return *s;
}

std::string CpuKey() {
  const CpuInfo& c = HostCpu();
  return absl::StrCat(c.model, c.avx512f ? "+avx512f" : "", c.avx512_bf16 ? "+avx512_bf16" : "",
                      c.amx_tile ? "+amx_tile" : "", c.amx_bf16 ? "+amx_bf16" : "");
}

}  // namespace gptc::codegen
