#include "ir/types.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_join.h"

namespace gptc::ir {

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kI32:
      return "i32";
    case DType::kBF16:
      return "bf16";
  }
  return "?";
}

std::optional<DType> DTypeFromName(std::string_view name) {
  if (name == "f32") return DType::kF32;
  if (name == "i32") return DType::kI32;
  if (name == "bf16") return DType::kBF16;
  return std::nullopt;
}

int64_t DTypeBytes(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kBF16:
      return 2;
  }
  return 4;
}

uint16_t BF16Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return static_cast<uint16_t>(u >> 16);
}

float BF16Value(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

uint16_t RoundedBF16Bits(float x) {
  if (std::isnan(x)) return BF16Bits(x);  // a NaN's top half stays a NaN
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u += 0x7fff + ((u >> 16) & 1);  // round to nearest, ties to even (may carry into inf)
  return static_cast<uint16_t>(u >> 16);
}

double RoundToBF16(double x) {
  const float f = static_cast<float>(x);
  if (std::isnan(f)) return x;
  return BF16Value(RoundedBF16Bits(f));
}

int64_t NumElements(const Shape& s) {
  // Shapes come from user text and attributes, so the product may not fit: it saturates rather
  // than wrapping, and every caller comparing it with kMaxElements sees "too big".
  for (int64_t d : s)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : s)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::numeric_limits<int64_t>::max();
  return n;
}

AxisSplit SplitAround(const Shape& s, int64_t axis) {
  AxisSplit a{1, s[axis], 1};
  for (int64_t i = 0; i < axis; ++i) a.outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); ++i) a.inner *= s[i];
  return a;
}

int64_t TensorType::num_elements() const { return NumElements(shape); }

int64_t TensorType::bytes() const {
  return DTypeBytes(dtype) * std::max<int64_t>(1, num_elements());
}

std::string ShapeToString(const Shape& s) { return "[" + absl::StrJoin(s, ",") + "]"; }

std::string TypeToString(const TensorType& t) {
  return std::string(DTypeName(t.dtype)) + ShapeToString(t.shape);
}

}  // namespace gptc::ir
