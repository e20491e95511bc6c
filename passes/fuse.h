// Fuse: replaces groups of ops by fused ops, so each group runs as one kernel that reads its
// inputs once and keeps its intermediates in registers.
//
// Contract: runs after autodiff and AdamW (fused ops have no gradient rules). Named patterns
// are matched first, forward and backward together:
//   add_layernorm       layernorm(a + b)              -> add_layernorm (writes a + b too)
//                       layernorm_grad then + dres    -> add_layernorm_grad
//   scale_mask_softmax  softmax(causal_mask(scale x)) -> scale_mask_softmax (no mask in memory)
//                       and its gradient chain        -> scale_mask_softmax_grad
//   bias_gelu           gelu(x + broadcast(b))        -> bias_gelu
//                       gelu_grad(x + broadcast(b))   -> bias_gelu_grad (recomputes x + b)
//   matmul_bias         matmul(a, w) + broadcast(b)   -> matmul_bias (the GEMM adds the bias)
//   softmax_xent        xent(softmax(logits))         -> softmax_xent
//                       softmax_grad(xent_grad(...))  -> softmax_xent_grad ((p - y) / N)
// then chains of elementwise ops:
//   adamw               a parameter's AdamW update chain (p, m, v in one pass)
//   elementwise         any other chain, and elementwise ops feeding one reduction
// and last, on the fused graph:
//   chunked_xent        an output head's matmul + softmax_xent (and gradients) over chunks of
//                       rows when the logits pass FuseOptions::xent.min_bytes
//                       (passes/chunk_xent.h): the [B*T, V] logits are never made
// A producer joins its consumers' group only when every use of its result is inside that
// group (or the result is also needed outside and the group can write it: extra results
// of an elementwise group); values are never computed twice except the cheap forward op a
// backward kernel recomputes. Every fused node carries the ops it absorbed as its body.
// Nothing changes when no pattern matches. The result passes Verify().
#pragma once

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "passes/chunk_xent.h"

namespace gptc::passes {

// Every pattern, in the order the pass tries them.
const std::vector<std::string>& FusionPatterns();

struct FuseOptions {
  std::set<std::string> patterns;  // enabled patterns; empty means all of them
  // When set, every group formed and every candidate refused, with the reason, one per line.
  std::ostream* explain = nullptr;
  // chunked_xent's sizes (passes/chunk_xent.h).
  ChunkXentOptions xent = {};
};

// Checks pattern names (for --fuse=...): an error listing the valid ones.
absl::Status CheckFusionPatterns(const std::set<std::string>& names);

absl::StatusOr<ir::Graph> Fuse(const ir::Graph& g, const FuseOptions& options = {});

}  // namespace gptc::passes
