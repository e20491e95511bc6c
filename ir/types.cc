#include "ir/types.h"

#include "absl/strings/str_join.h"

namespace gptc::ir {

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kI32:
      return "i32";
  }
  return "?";
}

std::optional<DType> DTypeFromName(std::string_view name) {
  if (name == "f32") return DType::kF32;
  if (name == "i32") return DType::kI32;
  return std::nullopt;
}

int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

AxisSplit SplitAround(const Shape& s, int64_t axis) {
  AxisSplit a{1, s[axis], 1};
  for (int64_t i = 0; i < axis; ++i) a.outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); ++i) a.inner *= s[i];
  return a;
}

int64_t TensorType::num_elements() const { return NumElements(shape); }

std::string ShapeToString(const Shape& s) { return "[" + absl::StrJoin(s, ",") + "]"; }

std::string TypeToString(const TensorType& t) {
  return std::string(DTypeName(t.dtype)) + ShapeToString(t.shape);
}

}  // namespace gptc::ir
