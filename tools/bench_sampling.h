// `gptc bench --sampling`: tokens per second of sampling with the KV cache (decode graph)
// against recomputing the window for every token, interleaved in one run.
#pragma once

#include "codegen/kernel_compiler.h"
#include "frontend/config.h"

namespace gptc::tools {

int RunSamplingBench(const GptConfig& cfg, const codegen::CompilerOptions& co, int64_t repeats);

}  // namespace gptc::tools
