// A Halide module to a relocatable object, with the instruction set the host really has.
//
// Halide 14 names only whole CPU generations: AVX512_BF16 (vdpbf16ps) comes with its
// avx512_sapphirerapids feature, which makes LLVM 14 target -mcpu=sapphirerapids and so also
// emit AVX512-FP16 instructions (vmovw for a scalar bf16 load), which Zen 4 lacks: SIGILL.
// So the module is compiled through LLVM here, with every feature the host CPU lacks
// switched off in each function's target-features (and the module's halide_mattrs).
#pragma once

#include <Halide.h>

#include <string>

namespace gptc::codegen {

std::string EmitObject(const Halide::Module& module);

// The features switched off, e.g. "-avx512fp16" (empty when the host has them all); part of
// the kernel cache key.
const std::string& DisabledFeatures();

}  // namespace gptc::codegen
