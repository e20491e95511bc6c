// The kernel compiler's flags, the same for every command that compiles kernels (train, eval,
// sample, bench, opt): --cache-dir, --no-cache, --no-tune and --threads.
#pragma once

#include "codegen/kernel_compiler.h"
#include "tools/flags.h"

namespace gptc::tools {

void AddCompilerFlags(FlagSet& flags);
codegen::CompilerOptions CompilerOptionsFromFlags(const FlagSet& flags);

}  // namespace gptc::tools
