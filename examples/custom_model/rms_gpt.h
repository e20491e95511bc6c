// A GPT with RMSNorm and a SiLU MLP, written from the DSL's primitives: a model that no gptc
// family provides, built the way a user of the library would build one.
#pragma once

#include "frontend/model.h"

// n_layer blocks of x + attn(rmsnorm(x)), x + mlp(rmsnorm(x)), learned positions, a final
// RMSNorm and a head tied to the token embedding.
absl::StatusOr<gptc::Model> RmsGpt(int64_t vocab, int64_t block_size, int64_t batch_size,
                                    int64_t n_layer, int64_t n_head, int64_t n_embd);
