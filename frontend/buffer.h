// Buffers: persistent tensors that are neither trained nor fed, such as a rotary table. A
// model declares one with Builder::Buffer and a small graph of fills (Iota, Constant) and ops
// on them; the step graphs read it as state (`%rope.cos: f32[64,16] state`), and every backend
// computes it once, before the first step, by running that graph.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "ir/literal.h"

namespace gptc {

struct BufferSpec {
  std::string name;
  ir::TensorType type;
  std::shared_ptr<const ir::Graph> make;  // no declarations; one result, of `type`
};

// The buffer's value: its graph run on the interpreter in float64, then rounded to f32 (what
// backends store), so it is the same on every backend and machine.
absl::StatusOr<ir::Literal> MakeBuffer(const BufferSpec& b);

// Every state the forward graph declares must be one of its buffers, with its type, and
// every buffer a state of the graph; the error names the first that is not.
absl::Status CheckBuffers(const ir::Graph& forward, const std::vector<BufferSpec>& buffers);

}  // namespace gptc
