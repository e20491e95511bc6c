#include "tools/compiler_flags.h"

namespace gptc::tools {

void AddCompilerFlags(FlagSet& flags) {
  flags.String("cache-dir", "",
               "kernel object cache (default: $XDG_CACHE_HOME/gptc or ~/.cache/gptc)");
  flags.Bool("cache", true, "use the kernel object cache (--no-cache compiles everything)");
  flags.Bool("tune", true,
             "time GEMM schedule candidates at compile time (--no-tune: first guess)");
  flags.Int("threads", 0,
            "threads running kernels (the spinning pool, caller included; 0: all cores)");
}

codegen::CompilerOptions CompilerOptionsFromFlags(const FlagSet& flags) {
  codegen::CompilerOptions co;
  if (!flags.GetBool("cache"))
    co.cache_dir = "";
  else if (!flags.GetString("cache-dir").empty())
    co.cache_dir = flags.GetString("cache-dir");
  co.threads = static_cast<int>(flags.GetInt("threads"));
  co.tune = flags.GetBool("tune");
  return co;
}

}  // namespace gptc::tools
