// Where a value lives in memory, as decided by the memory planner (passes/plan.h). Part of
// the IR: printed after a node's attributes, read back by the parser, and checked by an
// independent checker (ir/plan_check.h) that the verifier runs on every planned graph.
//
//   @arena[4096, 2048]             bytes [4096, 6144) of the step's temporaries
//   @param[0, 8320]                the persistent blocks, one per kind: param, grad,
//   @grad[..] @state[..] @input[..]  state (AdamW moments), input (fed per step)
//   @view(%qkv, 128, [24576, 32, 384, 1])   a strided window on %qkv's memory: element
//                                  offset, then one element stride per axis of this value
//   @view(%x)                      the same memory as %x, row-major (a reshape)
//   @inplace(%x)                   takes over %x's memory; %x is dead from here on
//
// A graph is planned when every value has a placement, and unplanned when none has.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gptc::ir {

enum class Region : uint8_t { kArena, kParam, kGrad, kState, kInput };
constexpr int kNumRegions = 5;

const char* RegionName(Region r);
std::optional<Region> RegionFromName(std::string_view name);
// Every region but the arena survives the step.
inline bool IsPersistent(Region r) { return r != Region::kArena; }

// Byte alignment of every planned buffer (misaligned buffers cost 10%, DESIGN.md).
constexpr int64_t kPlanAlignment = 64;
inline int64_t AlignUp(int64_t bytes) {
  return (bytes + kPlanAlignment - 1) / kPlanAlignment * kPlanAlignment;
}

struct Placement {
  enum class Kind : uint8_t { kNone, kMemory, kView, kInPlace };
  Kind kind = Kind::kNone;
  Region region = Region::kArena;  // kMemory
  int64_t offset = 0;              // kMemory: bytes from the region's start; kView: elements
  int64_t bytes = 0;               // kMemory
  int32_t base = -1;               // kView, kInPlace: a ValueId
  std::vector<int64_t> strides;    // kView: element stride per axis; empty = row-major

  static Placement Memory(Region r, int64_t offset, int64_t bytes) {
    return {Kind::kMemory, r, offset, bytes, -1, {}};
  }
  static Placement View(int32_t base, int64_t elem_offset = 0, std::vector<int64_t> strides = {}) {
    return {Kind::kView, Region::kArena, elem_offset, 0, base, std::move(strides)};
  }
  static Placement InPlace(int32_t base) {
    return {Kind::kInPlace, Region::kArena, 0, 0, base, {}};
  }

  bool operator==(const Placement& o) const {
    return kind == o.kind && region == o.region && offset == o.offset && bytes == o.bytes &&
           base == o.base && strides == o.strides;
  }
};

}  // namespace gptc::ir
