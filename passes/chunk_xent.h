// Chunked cross-entropy over a large vocabulary: the fusion pattern `chunked_xent`.
//
// At GPT-2's 50k-token vocabulary the logits [B*T, V] and their gradient are the largest
// tensors of a train step (824 MB each in f32 at B=4, T=1024). The head's forward
//   logits = matmul(x, w^T); loss = softmax_xent(logits, targets)
// and backward
//   dlogits = softmax_xent_grad(logits, targets, dloss); dx = dlogits w; dw = dlogits^T x
// are rewritten over K chunks of rows, so that only one chunk's logits (and its gradient)
// ever exist:
//   forward:  loss = (1/K) sum_k softmax_xent(matmul(x_k, w^T), targets_k)
//   backward: per chunk, their gradient (dloss / K: each chunk's mean is over its own rows),
//             dx_k = dlogits_k w, dw += dlogits_k^T x_k (matmul_add, written over the running
//             sum, so one [V, C] buffer); dx = concat(dx_k).
// In a train step the loss's gradient is autodiff's constant seed, known before the forward
// runs: each chunk's gradients are then computed right after its loss, from the same logits,
// as Liger-Kernel's fused linear cross-entropy does, and the head costs the GEMMs of the
// unfused graph. Where the gradient only comes later, the backward recomputes each chunk's
// logits (one head GEMM more).
// Every GEMM is an ordinary matmul node, so it gets the tuned kernels (and bf16 or AMX) of any
// other GEMM. The GEMMs of the dx chunks write straight into dx (the planner's concat views).
//
// Why chunked nodes and not one hand-written kernel: a kernel of its own would need its own
// GEMM schedules per CPU and precision; as graph nodes, the chunks reuse the tuner's.
//
// It only runs where the logits are large (`min_bytes`): at shakespeare-cpu's size with
// GPT-2's vocabulary (147 MiB of logits) three chunks made the step 1.15-1.3x slower (smaller
// GEMMs, more kernels; 1.42x when the backward recomputed the logits) to save 170 MiB.
//
// Runs at the end of Fuse (it expects the softmax_xent pattern already fused); chunks are the
// largest divisor of the rows whose logits fit in `chunk_bytes`. The result passes Verify().
#pragma once

#include <cstdint>
#include <ostream>

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

struct ChunkXentOptions {
  // Logits of at least min_bytes (f32) are computed in chunks of at most chunk_bytes. 256 MiB:
  // below it the memory saved is not worth the time (see above); gpt2's
  // 786 MiB are chunked. 64 MiB keeps a chunk's logits and gradient far below the rest of a
  // GPT-2 step's activations while each chunk's GEMMs stay large (gpt2: 16 chunks of 256).
  int64_t min_bytes = int64_t{256} << 20;
  int64_t chunk_bytes = int64_t{64} << 20;
  // Compute each chunk's gradients with its forward when the loss's gradient is known by then
  // (false: always recompute the logits in the backward; tests compare the two).
  bool gradients_with_forward = true;
};

absl::StatusOr<ir::Graph> ChunkCrossEntropy(const ir::Graph& g, const ChunkXentOptions& options,
                                            std::ostream* explain);

}  // namespace gptc::passes
