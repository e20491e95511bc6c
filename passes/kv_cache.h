// The KV-cache pass: derives a model's two sampling graphs from its forward graph at batch 1.
//
//   prefill: (%tokens i32[1, T], %pos i32[1] = 0) -> %logits [1, T, V]
//            the whole window, as the forward graph computes it, and besides every layer's
//            keys and values written into the cache;
//   decode:  (%tokens i32[1, 1], %pos i32[1]) -> %logits [1, 1, V]
//            one new token at runtime position pos: its key and value are written into row pos
//            of the cache, and its query attends to cache rows 0..pos.
//
// The cache is state: one `%kv.<name>` [1, H, T, D] per attention operand that carries the
// sequence (each layer's k and v), kept between calls. Keys and values repeated for several
// query heads (grouped-query attention: expand then reshape) are cached before the repeat,
// [1, H_kv, T, D], and decode repeats what it reads. Because the position is a runtime
// operand, the decode graph compiles once for every position.
//
// How: the pass follows the sequence axis from %tokens through every op (a reshape, transpose
// or broadcast moves it, a reduction must not remove it) and gives it length 1 (decode) or
// keeps it (prefill). Three places change meaning, and are rewritten:
//   - a [0, T) slice of a parameter (learned positions) becomes a lookup of row pos;
//   - a matmul whose right operand carries the sequence (q.k^T and att.v) reads the cache
//     after the new rows are written into it;
//   - causal_mask becomes position_mask (key j visible when j <= pos + i).
// Run it before fusion, on a graph returning only %logits (dce'd).
#pragma once

#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace gptc::passes {

enum class KvGraph { kPrefill, kDecode };

absl::StatusOr<ir::Graph> DeriveKvGraph(const ir::Graph& forward, KvGraph which);

// The cache's state name for an attention operand's value name: "kv." + name.
inline constexpr const char* kKvCachePrefix = "kv.";

}  // namespace gptc::passes
