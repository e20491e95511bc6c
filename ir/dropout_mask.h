// Dropout's mask: a counter-based hash, so element i of dropout site `site` at training step
// `step` of a run seeded `seed` is kept or dropped the same way wherever it is computed (the
// interpreter here; the JIT kernel in codegen/lower_dropout.cc computes the same bits with
// Halide's uint32 arithmetic). Nothing is stored: the backward pass and a resumed run
// recompute the mask. The mixer is Chris Wellons' lowbias32, a bijection on uint32, so
// distinct elements hash to distinct values.
#pragma once

#include <cstdint>

namespace gptc::ir {

inline uint32_t DropoutMix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}

// The per-call key: one hash of (seed, site, step).
inline uint32_t DropoutKey(uint32_t seed, uint32_t step, uint32_t site) {
  return DropoutMix(DropoutMix(seed ^ (site * 0x9e3779b9u)) ^ step);
}

// Elements whose hash is below this are dropped: p of them.
inline uint32_t DropoutThreshold(double p) {
  return static_cast<uint32_t>(p * 4294967296.0 >= 4294967295.0 ? 4294967295.0 : p * 4294967296.0);
}

inline bool DropoutKeeps(uint32_t key, uint32_t index, uint32_t threshold) {
  return DropoutMix(index ^ key) >= threshold;
}

}  // namespace gptc::ir
