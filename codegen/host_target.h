// What the code generator will target on this machine. Halide and LLVM headers stay inside
// codegen/*.cc so the rest of the project compiles quickly (see DESIGN.md).
#pragma once

#include <string>

namespace gptc::codegen {

// Halide's description of the host, e.g. "x86-64-linux-avx-avx2-avx512-...".
std::string HostTargetString();
// Whether this CPU has AVX512_BF16 (vdpbf16ps: a bf16 pair dot product accumulated in f32),
// which Halide 14 targets through its avx512_sapphirerapids feature.
bool HostHasBF16Dot();
// "Halide 14.0.0 (built against LLVM 140), LLVM 14.0.6".
std::string ToolchainVersions();

}  // namespace gptc::codegen
