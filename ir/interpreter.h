// The reference interpreter: executes any verified graph with plain loops on Literals.
// Clarity over speed: it is the oracle that every pass and kernel test compares against
// (like XLA's HloEvaluator or Glow's Interpreter).
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "ir/literal.h"

namespace gptc::ir {

enum class Precision {
  kF32,  // every f32 result is rounded to float, as a float32 machine would store it
  kF64,  // no rounding: float64 arithmetic throughout (for finite-difference checks)
};

struct InterpOptions {
  Precision precision = Precision::kF32;
  // How InterpretStep holds values of a planned graph:
  //  kValues: each value its own Literal (placements ignored);
  //  kPlanned: in the plan's memory, as the compiled runtime does: every read goes through
  //            the value's placement (arena offset, view strides, in place), so a plan that
  //            lets two live values share bytes gives a wrong result;
  //  kPoisoned: kPlanned, and each buffer is filled with NaN once nothing reads it any more,
  //            so a value read after its memory was given away shows up as a NaN loss.
  enum class Memory { kValues, kPlanned, kPoisoned };
  Memory memory = Memory::kValues;
};

using LiteralMap = absl::flat_hash_map<std::string, Literal>;

// Runs `g` with a Literal for every input and parameter (by name) and returns the graph's
// outputs in order. Missing or mistyped arguments and out-of-range ids (embedding, targets)
// are errors naming the value at fault. The graph must pass Verify().
absl::StatusOr<std::vector<Literal>> Interpret(const Graph& g, const LiteralMap& args,
                                               const InterpOptions& options = {});

// Same, but returns every value of the graph, indexed by ValueId (for tests and debugging).
absl::StatusOr<std::vector<Literal>> InterpretAll(const Graph& g, const LiteralMap& args,
                                                  const InterpOptions& options = {});

// Runs one step of a graph that updates state (a train step). `state` holds a Literal for
// every param and state declaration; `inputs` for every input. Afterwards each updated
// declaration in `state` holds its new value. Returns the graph's outputs.
absl::StatusOr<std::vector<Literal>> InterpretStep(const Graph& g, LiteralMap& state,
                                                   const LiteralMap& inputs,
                                                   const InterpOptions& options = {});

// InterpretStep in the plan's memory (InterpOptions::kPlanned / kPoisoned); g must be planned.
absl::StatusOr<std::vector<Literal>> InterpretStepInMemory(const Graph& g, LiteralMap& state,
                                                           const LiteralMap& inputs,
                                                           const InterpOptions& options);

}  // namespace gptc::ir
