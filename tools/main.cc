// The `gptc` command line: `gptc <command> [flags]`.
#include <iostream>
#include <string>
#include <vector>

#include "tools/commands.h"

namespace {

struct Command {
  const char* name;
  const char* help;
  int (*run)(const gptc::tools::Args&);
};

const Command kCommands[] = {
    {"ir", "print a model's graph IR (after passes, as DOT, or dumped per pass)",
     gptc::tools::RunIr},
    {"opt", "read IR text, verify it, run passes on it, print it (and run it on random inputs)",
     gptc::tools::RunOpt},
    {"train", "train a GPT on a text (AdamW, warmup + cosine schedule) and print a sample",
     gptc::tools::RunTrain},
    {"bench", "time the compiled train step: ms/step, MFU, GEMM GFLOP/s, compile time",
     gptc::tools::RunBench},
    {"sample", "generate text from a trained checkpoint, streamed", gptc::tools::RunSample},
    {"export", "write a checkpoint's parameters as safetensors under nanoGPT's names",
     gptc::tools::RunExport},
    {"mem", "memory plan of a model: naive, planned and lower-bound bytes, the peak, largest batch",
     gptc::tools::RunMem},
    {"eval", "loss of a freshly initialised model on one batch of real text", gptc::tools::RunEval},
    {"prepare", "tokenise text files into nanoGPT's train.bin / val.bin (every core)",
     gptc::tools::RunPrepare},
    {"tokenizer", "encode text to token ids and back (gpt2, char, trained BPE); train a BPE",
     gptc::tools::RunTokenizer},
    {"version", "toolchain versions and the host code-generation target", gptc::tools::RunVersion},
};

void PrintUsage(std::ostream& os) {
  os << "usage: gptc <command> [flags]\n\n"
        "gptc compiles GPT models written in its C++ DSL to a graph IR, transforms it with\n"
        "passes, and runs it. Commands:\n";
  for (const Command& c : kCommands)
    os << "  " << c.name << std::string(11 - std::string(c.name).size(), ' ') << c.help << "\n";
  os << "\n'gptc <command> --help' lists a command's flags.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintUsage(std::cerr);
    return 2;
  }
  const std::string cmd = args[0];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    PrintUsage(std::cout);
    return 0;
  }
  for (const Command& c : kCommands)
    if (cmd == c.name) return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
  std::cerr << "gptc: unknown command '" << cmd << "'; commands are:";
  for (const Command& c : kCommands) std::cerr << " " << c.name;
  std::cerr << "\n";
  return 2;
}
