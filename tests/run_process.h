// Runs a shell command as a user would and collects what it printed: tests of the `gptc`
// binary (the command line, the kernel cache across processes, checkpoints).
#pragma once

#include <string>

namespace gptc::testing {

struct ProcessResult {
  int code;         // exit code, or -1 if the process did not exit normally
  std::string out;  // stdout and stderr together
};

ProcessResult RunCommand(const std::string& command);

}  // namespace gptc::testing
