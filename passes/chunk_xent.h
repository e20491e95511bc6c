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
//   backward: per chunk, the logits recomputed, their gradient (dloss / K: each chunk's mean
//             is over its own rows), dx_k = dlogits_k w, dw += dlogits_k^T x_k (matmul_add,
//             written over the running sum, so one [V, C] buffer); dx = concat(dx_k).
// The backward costs one more head GEMM (the recomputed logits); every GEMM is an ordinary
// matmul node, so it gets the tuned kernels (and bf16 or AMX) of any other GEMM. The GEMMs
// of the dx chunks write straight into dx (the planner's concat views).
//
// Why chunked nodes and not one hand-written kernel: a kernel of its own would need its own
// GEMM schedules per CPU and precision; as graph nodes, the chunks reuse the tuner's.
//
// The extra GEMM is why it only runs where the logits are large (`min_bytes`): at
// shakespeare-cpu's size with GPT-2's vocabulary (147 MiB of logits) chunks made the step 1.42x
// slower to save 200 MiB.
//
// Runs at the end of Fuse (it expects the softmax_xent pattern already fused) and only where
// the logits pass `min_bytes`; chunks are the largest divisor of the rows whose logits fit in
// `chunk_bytes`. The result passes Verify().
#pragma once

#include <cstdint>
#include <ostream>

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

absl::StatusOr<ir::Graph> ChunkCrossEntropy(const ir::Graph& g, int64_t min_bytes,
                                            int64_t chunk_bytes, std::ostream* explain);

}  // namespace gptc::passes
