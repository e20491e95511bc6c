// Rotary position embeddings (Su et al. 2021) in the rotate-half convention of Hugging Face's
// Llama: x * cos + rotate_half(x) * sin, where rotate_half([a, b]) = [-b, a] over the head's
// two halves, and at position t the pair (i, i + D/2) turns by t * theta^(-2i/D).
//
// The cos and sin tables [block_size, D/2] are buffers (frontend/buffer.h): computed once from
// iota, neither trained nor fed. A sequence of T positions reads their first T rows, and the
// KV-cache pass reads the row at the runtime position, so decoding compiles once.
#pragma once

#include <string>

#include "frontend/builder.h"

namespace gptc::nn {

class Rotary {
 public:
  Rotary(Builder& b, const std::string& path, int64_t block_size, int64_t head_dim, double theta);
  // x [..., T, D] (T <= block_size) turned by its positions 0 .. T-1.
  Tensor operator()(Tensor x) const;

 private:
  Tensor cos_, sin_;  // [block_size, D/2]
};

}  // namespace gptc::nn
