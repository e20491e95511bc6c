// Heap scratch of kernels (Halide's halide_malloc/halide_free): the buffers a kernel allocates
// while it runs, e.g. the attention backward's per-head [T x T] probabilities and score
// gradients, or a GEMM's repacked operand. Every call of a kernel asks for the same sizes again,
// and glibc hands large requests (>= 128 KiB) to mmap: each call paid page faults and the
// kernel's zeroing of every page (10% of GPT-2's attention backward). Freed blocks are kept
// in a cache per thread and handed back to the next request they fit, so steady-state calls
// touch memory already mapped.
//
// Bounded: a thread keeps at most kScratchCacheBytes; a block that would exceed it is freed.
// Under AddressSanitizer nothing is cached, so a kernel reading freed scratch is still caught.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gptc::codegen {

// Bytes of freed scratch a thread keeps for reuse.
constexpr size_t kScratchCacheBytes = size_t{256} << 20;

// Halide's allocator signatures (halide_malloc_t, halide_free_t). The memory is aligned to
// 128 bytes and readable 64 bytes before the start and past the end (Halide's vector loads
// may over-read by a few bytes). Never null for a size the system can allocate.
void* ScratchMalloc(void* user_context, size_t bytes);
void ScratchFree(void* user_context, void* ptr);

// Tests: fill each reused block with NaN bytes (0xff) before handing it out, so a kernel that
// reads scratch it never wrote shows NaN (fresh pages are zero and hide such a read).
void SetScratchPoison(bool on);

// Frees the calling thread's cached blocks.
void ScratchRelease();

// The calling thread's cached bytes and blocks (for tests).
size_t ScratchCachedBytes();
size_t ScratchCachedBlocks();

// Requests served since start, over every thread: from the system, and from a cache.
struct ScratchStats {
  uint64_t fresh = 0, reused = 0;
};
ScratchStats GetScratchStats();

}  // namespace gptc::codegen
