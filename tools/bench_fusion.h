// `gptc bench --fusion`: every fusion pattern fused vs unfused at each preset's shapes, and
// the whole train step with fusion on vs off (see bench_fusion.cc).
#pragma once

#include "codegen/kernel_compiler.h"
#include "tools/flags.h"

namespace gptc::tools {

void AddFusionBenchFlags(FlagSet& flags);
int RunFusionBench(const FlagSet& flags, const codegen::CompilerOptions& co);

}  // namespace gptc::tools
