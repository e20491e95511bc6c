// The subcommands of the `gptc` command line. Each takes its arguments after the command
// name and returns the process exit code (0 ok, 1 failure, 2 usage error).
#pragma once

#include <string>
#include <vector>

namespace gptc::tools {

using Args = std::vector<std::string>;

int RunIr(const Args& args);
int RunOpt(const Args& args);
int RunEval(const Args& args);
int RunTrain(const Args& args);
int RunBench(const Args& args);
int RunMem(const Args& args);
int RunSample(const Args& args);
int RunExport(const Args& args);
int RunVersion(const Args& args);
int RunTokenizer(const Args& args);
int RunPrepare(const Args& args);

}  // namespace gptc::tools
