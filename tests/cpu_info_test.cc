// codegen/cpu_info.h against Linux's own reading of the CPU (/proc/cpuinfo: its flags and
// model name come from the same CPUID leaves, decoded by the kernel): the features kernels
// are chosen by, the model the kernel cache is keyed on, and AMX's state with its reason.
// The AMX peak is measured only where AMX runs; elsewhere the test says which flag is missing.
#include "codegen/cpu_info.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "bench/peak_flops.h"
#include "gtest/gtest.h"

namespace gptc {
namespace {

struct ProcCpu {
  std::string model;
  std::set<std::string> flags;
};

ProcCpu ReadProcCpuinfo() {
  ProcCpu p;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key(absl::StripAsciiWhitespace(line.substr(0, colon)));
    const std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    if (key == "model name" && p.model.empty()) p.model = value;
    if (key == "flags" && p.flags.empty()) {
      std::istringstream words(value);
      for (std::string w; words >> w;) p.flags.insert(w);
    }
  }
  return p;
}

TEST(CpuInfo, AgreesWithProcCpuinfo) {
  const ProcCpu proc = ReadProcCpuinfo();
  if (proc.flags.empty()) GTEST_SKIP() << "/proc/cpuinfo has no flags line";
  const codegen::CpuInfo& c = codegen::HostCpu();
  EXPECT_EQ(c.model, proc.model);
  EXPECT_EQ(c.avx512f, proc.flags.count("avx512f") == 1);
  EXPECT_EQ(c.avx512_bf16, proc.flags.count("avx512_bf16") == 1);
  EXPECT_EQ(c.amx_tile, proc.flags.count("amx_tile") == 1);
  EXPECT_EQ(c.amx_bf16, proc.flags.count("amx_bf16") == 1);
  EXPECT_TRUE(absl::StartsWith(codegen::CpuKey(), c.model)) << codegen::CpuKey();
}

TEST(CpuInfo, AmxIsOnOrSaysWhyNot) {
  const codegen::CpuInfo& c = codegen::HostCpu();
  const codegen::AmxState& amx = codegen::RequestAmx();
  if (!c.amx_tile) {
    EXPECT_FALSE(amx.ok);
    EXPECT_EQ(amx.why, "AMX is off: this CPU has no amx_tile (CPUID.7.0:EDX[24])");
    EXPECT_EQ(MeasureAmxPeakGflops(1), 0);
    GTEST_SKIP() << "the AMX peak needs amx_tile, which this CPU lacks";
  }
  if (!amx.ok) {
    EXPECT_NE(amx.why.find("AMX is off"), std::string::npos) << amx.why;
    GTEST_SKIP() << amx.why;
  }
  // One core's tiles against its bf16 vector units: the published rate is 1024 bf16 FLOPs per
  // cycle per core, 16-32x vdpbf16ps's.
  const double tiles = MeasureAmxPeakGflops(1), vectors = MeasureBf16PeakGflops(1);
  EXPECT_GT(tiles, 2 * vectors) << "AMX " << tiles << " GFLOP/s, vdpbf16ps " << vectors;
}

}  // namespace
}  // namespace gptc
