// Helpers for tests of compiled kernels: one KernelCompiler per test process (kernels are
// compiled once and cached on disk under the build tree), and a comparison of every value of
// a graph between the JIT and the reference interpreter.
#pragma once

#include <string>

#include "codegen/kernel_compiler.h"
#include "ir/graph.h"
#include "ir/interpreter.h"

namespace gptc::testing {

codegen::KernelCompiler& SharedCompiler();
std::string TestCacheDir();

struct Mismatch {
  double worst_rel = 0;  // max over values of max|jit - interp| / max(1, max|interp|)
  std::string where;
};

// Runs g on the interpreter (float32 mode) and on the JIT with the same arguments and
// compares every value that is not a state update's source (those buffers are swapped).
Mismatch CompareWithInterpreter(const ir::Graph& g, const ir::LiteralMap& args);
Mismatch CompareWithInterpreter(const ir::Graph& g, const ir::LiteralMap& args,
                                codegen::KernelCompiler& compiler);

// Runs g once on the JIT (the shared compiler): each argument is a state if g declares it
// so, else an input. Returns the outputs.
absl::StatusOr<std::vector<ir::Literal>> RunOnJit(const ir::Graph& g, const ir::LiteralMap& args);
absl::StatusOr<std::vector<ir::Literal>> RunOnJit(const ir::Graph& g, const ir::LiteralMap& args,
                                                  codegen::KernelCompiler& compiler);

// Random arguments for every declaration: floats N(0,1) (or [0.5,1.5) when `positive`),
// integers in [0, int_limit).
ir::LiteralMap RandomArgs(const ir::Graph& g, uint64_t seed, int64_t int_limit,
                          bool positive = false);

// Every schedule variant of the graph's last node, each compiled alone, against the
// interpreter within `tol`; the node must have several (the case is meant to exercise them).
// Returns how many there are.
int ExpectEveryVariantClose(const ir::Graph& g, double tol);

// A train step compiled with every multi-variant kernel on its last variant (where AMX
// candidates come), against the interpreter on random positive inputs at AdamW step 1.
Mismatch CompareStepOnLastVariants(const ir::Graph& step);

}  // namespace gptc::testing
