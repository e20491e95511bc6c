// `gptc version`: the toolchain gptc was built with and the CPU target it generates code for.
#include <iostream>

#include "codegen/host_target.h"
#include "tools/commands.h"
#include "tools/model_flags.h"

namespace gptc::tools {

int RunVersion(const Args& args) {
  FlagSet flags("version");
  if (auto s = flags.Parse(args); !s.ok()) return Fail(s, 2);
  std::cout << "gptc 0.1 (" << codegen::ToolchainVersions() << ")\n"
            << "host target: " << codegen::HostTargetString() << "\n";
  return 0;
}

}  // namespace gptc::tools
