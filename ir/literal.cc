#include "ir/literal.h"

namespace gptc::ir {

Literal Literal::FromFloats(Shape s, const std::vector<float>& v) {
  return Literal(F32(std::move(s)), std::vector<double>(v.begin(), v.end()));
}

Literal Literal::FromInts(Shape s, const std::vector<int32_t>& v) {
  return Literal(I32(std::move(s)), std::vector<double>(v.begin(), v.end()));
}

std::vector<float> Literal::ToFloats() const { return std::vector<float>(data.begin(), data.end()); }

std::vector<int32_t> Literal::ToInts() const {
  std::vector<int32_t> out(data.size());
  for (size_t i = 0; i < data.size(); ++i) out[i] = static_cast<int32_t>(data[i]);
  return out;
}

std::vector<int64_t> Strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

}  // namespace gptc::ir
