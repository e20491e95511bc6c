// `gptc bench --plan-compare`: the train step on the planned arena (views, in place) against
// one buffer per value (--no-plan), interleaved step by step in one run.
#pragma once

#include "codegen/kernel_compiler.h"
#include "frontend/config.h"
#include "passes/train_graphs.h"
#include "tools/flags.h"

namespace gptc::tools {

int RunPlanBench(const GptConfig& cfg, const passes::StepOptions& step,
                 const codegen::CompilerOptions& co, int64_t steps);

}  // namespace gptc::tools
