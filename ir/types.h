// Element types and static tensor types: `f32[12,64,128]`, `i32[12,64]`, `f32[]` (scalar).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gptc::ir {

// bf16 is bfloat16 (float32's top 16 bits: its exponent range, 8 bits of mantissa), the
// storage type of mixed precision (passes/bf16.h).
enum class DType : uint8_t { kF32, kI32, kBF16 };

const char* DTypeName(DType t);
std::optional<DType> DTypeFromName(std::string_view name);
int64_t DTypeBytes(DType t);
// x rounded to the nearest bfloat16, ties to even (as vcvtneps2bf16 and Halide's cast do);
// NaN stays NaN, infinities stay.
double RoundToBF16(double x);
// The bfloat16 bits of a value already rounded to bf16, and back.
uint16_t BF16Bits(float x);
// The bits of x rounded to bf16 as RoundToBF16 does (one step, for kernels that store bf16).
uint16_t RoundedBF16Bits(float x);
float BF16Value(uint16_t bits);

using Shape = std::vector<int64_t>;

struct TensorType {
  DType dtype = DType::kF32;
  Shape shape;

  int rank() const { return static_cast<int>(shape.size()); }
  int64_t num_elements() const;
  // The bytes a buffer of this type takes (a scalar: one element).
  int64_t bytes() const;
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
};

std::string ShapeToString(const Shape& s);      // "[12,64,128]"
std::string TypeToString(const TensorType& t);  // "f32[12,64,128]"
int64_t NumElements(const Shape& s);            // saturates at INT64_MAX (a negative axis too)
// A shape seen as (outer, len, inner) around `axis`: the product of the axes before it, its
// length, and the product of the axes after it (reductions, slices, concats, expands).
struct AxisSplit {
  int64_t outer, len, inner;
};
AxisSplit SplitAround(const Shape& s, int64_t axis);
// The most elements a tensor may have: kernels index with 32-bit integers (Halide's extents).
constexpr int64_t kMaxElements = 2147483647;

inline TensorType F32(Shape s) { return {DType::kF32, std::move(s)}; }
inline TensorType I32(Shape s) { return {DType::kI32, std::move(s)}; }
inline TensorType BF16(Shape s) { return {DType::kBF16, std::move(s)}; }

}  // namespace gptc::ir
