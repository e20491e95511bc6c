// Interpreter kernels, one function per op, grouped by kind in interp_*.cc.
// Each receives the node (for attributes), its operand literals and the verified output type.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "ir/interpreter.h"
#include "ir/literal.h"

namespace gptc::ir::interp {

using Args = std::vector<const Literal*>;

// One node's results (a fused node runs its body), rounded as options.precision says.
absl::StatusOr<std::vector<Literal>> EvalNode(const Graph& g, const Node& n, const Args& in,
                                              const InterpOptions& options);

// Rounds every element to what its type can hold: f32 to float in Precision::kF32 mode, bf16
// to the nearest bfloat16 in either mode (a bf16 value is defined by its rounding).
void RoundToStorage(Literal& l, Precision p);

// Elementwise families (interp_elementwise.cc).
absl::StatusOr<Literal> Fill(const Node& n, const TensorType& out);
absl::StatusOr<Literal> Unary(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Binary(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Ternary(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Cast(const Args& in, const TensorType& out);
double UnaryRef(UnaryOp op, double x, double attr);
double BinaryRef(BinaryOp op, double a, double b);
double TernaryRef(TernaryOp op, double a, double b, double c);
absl::StatusOr<Literal> MatMul(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Embedding(const Node& n, const Args& in, const TensorType& out);
// interp_gather.cc
absl::StatusOr<Literal> Gather(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> GatherGrad(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Layout(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Reduce(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> LayerNorm(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Softmax(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> CausalMask(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Dropout(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> PositionMask(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> CacheWrite(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> Xent(const Node& n, const Args& in, const TensorType& out);

// Backward ops (interp_grad.cc).
absl::StatusOr<std::vector<Literal>> LayerNormGrad(const Node& n, const Args& in);
absl::StatusOr<Literal> SoftmaxGrad(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> XentGrad(const Node& n, const Args& in, const TensorType& out);
absl::StatusOr<Literal> EmbeddingGrad(const Node& n, const Args& in, const TensorType& out);
double GeluGrad(double x, double dy);

// GPT-2's tanh approximation of GELU.
double Gelu(double x);
double GeluErf(double x);
double GeluErfGrad(double x, double dy);

}  // namespace gptc::ir::interp
