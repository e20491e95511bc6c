// How each parameter starts: nanoGPT's scheme (normal 0.02, residual projections scaled by
// 1/sqrt(2 * n_layer), zero biases, unit LayerNorm weights), reproducible from one seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/interpreter.h"
#include "ir/types.h"

namespace gptc {

struct ParamInit {
  enum class Kind { kNormal, kZeros, kOnes };
  Kind kind = Kind::kZeros;
  double std = 0.0;  // kNormal only

  static ParamInit Normal(double std) { return {Kind::kNormal, std}; }
  static ParamInit Zeros() { return {Kind::kZeros, 0.0}; }
  static ParamInit Ones() { return {Kind::kOnes, 0.0}; }
};

// Whether AdamW decays a parameter: the model's choice, recorded on its IR declaration
// (`param decay`). kIfMatrix is nanoGPT's grouping: matrices and embeddings decay, biases
// and norm weights do not.
enum class Decay { kIfMatrix, kYes, kNo };

struct ParamSpec {
  std::string name;
  ir::TensorType type;
  ParamInit init;
  bool decay = false;
};

// Initial values of all parameters. Each parameter draws from its own stream derived from
// (seed, name), so values do not depend on declaration order or on other parameters.
ir::LiteralMap InitParams(const std::vector<ParamSpec>& params, uint64_t seed);
// One parameter's initial value, the same as InitParams gives it (each parameter draws from
// a generator seeded by its name): callers that store parameters one at a time never hold
// all of them as Literals (8 bytes an element) at once.
ir::Literal InitParam(const ParamSpec& p, uint64_t seed);

int64_t CountParams(const std::vector<ParamSpec>& params);

}  // namespace gptc
