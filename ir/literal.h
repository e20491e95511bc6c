// Literal: a host tensor for the reference interpreter and for tests. Data is held as
// double whatever the dtype (i32 values are exact in a double), so one interpreter serves
// both float32 runs (every result rounded to float) and float64 runs (finite differences).
#pragma once

#include <string>
#include <vector>

#include "ir/types.h"

namespace gptc::ir {

struct Literal {
  TensorType type;
  std::vector<double> data;  // row-major

  Literal() = default;
  explicit Literal(TensorType t) : type(std::move(t)), data(type.num_elements(), 0.0) {}
  Literal(TensorType t, std::vector<double> d) : type(std::move(t)), data(std::move(d)) {}

  const Shape& shape() const { return type.shape; }
  int64_t size() const { return static_cast<int64_t>(data.size()); }

  static Literal FromFloats(Shape s, const std::vector<float>& v);
  std::vector<float> ToFloats() const;
};

// Row-major strides of a shape, in elements.
std::vector<int64_t> Strides(const Shape& s);

}  // namespace gptc::ir
