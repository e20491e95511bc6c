// Tensor: a handle to one value of the graph a Builder is making. Cheap to copy.
// A Tensor made after the builder recorded an error is invalid and every op on it is a no-op,
// so model code reads straight through and Builder::Finish() reports the first error.
#pragma once

#include <string>

#include "ir/graph.h"

namespace gptc {

class Builder;

class Tensor {
 public:
  Tensor() = default;
  Tensor(Builder* b, ir::ValueId id) : builder_(b), id_(id) {}

  bool valid() const { return builder_ != nullptr && id_ >= 0; }
  Builder* builder() const { return builder_; }
  ir::ValueId id() const { return id_; }
  const ir::TensorType& type() const;
  const ir::Shape& shape() const { return type().shape; }
  int rank() const { return type().rank(); }
  // Size of axis i; negative i counts from the end.
  int64_t dim(int i) const;
  const std::string& name() const;

  // Gives the value a readable name in the current scope, e.g. `h.0.attn.q` (made unique).
  Tensor named(const std::string& leaf) const;

 private:
  Builder* builder_ = nullptr;
  ir::ValueId id_ = -1;
};

Tensor operator+(Tensor a, Tensor b);
Tensor operator-(Tensor a, Tensor b);
Tensor operator*(Tensor a, Tensor b);
Tensor operator/(Tensor a, Tensor b);
Tensor operator-(Tensor a);

}  // namespace gptc
