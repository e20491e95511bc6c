#include "ir/literal.h"

namespace gptc::ir {

Literal Literal::FromFloats(Shape s, const std::vector<float>& v) {
  return Literal(F32(std::move(s)), std::vector<double>(v.begin(), v.end()));
}

std::vector<float> Literal::ToFloats() const {
  return std::vector<float>(data.begin(), data.end());
}

std::vector<int64_t> Strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

}  // namespace gptc::ir
