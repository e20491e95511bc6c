#include "bench/step_flops.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ir/printer.h"

namespace gptc {
namespace {

double MatMulFlops(const ir::Graph& g, const ir::Node& n) {
  if (!IsGemm(n.op)) return 0;
  const ir::Shape& a = g.value(n.inputs[0]).type.shape;
  const ir::Shape& out = g.value(n.outputs[0]).type.shape;
  const int64_t k = *n.attrs.GetBool("transpose_a") ? a[a.size() - 2] : a.back();
  return 2.0 * static_cast<double>(ir::NumElements(out)) * static_cast<double>(k);
}

}  // namespace

// matmul_add is a GEMM too: the chunked cross-entropy accumulates the head's weight gradient
// with it, chunk by chunk (15 of gpt2's 16 chunks).
bool IsGemm(ir::Op op) {
  return op == ir::Op::kMatMul || op == ir::Op::kMatMulBias || op == ir::Op::kMatMulAdd;
}

bool IsAttention(ir::Op op) {
  return op == ir::Op::kCausalAttention || op == ir::Op::kCausalAttentionGrad;
}

double ModelFlops(const ir::Graph& g, const ir::Node& n) {
  if (!IsAttention(n.op)) return MatMulFlops(g, n);
  double f = 0;
  for (const ir::Node& b : n.body->nodes()) f += MatMulFlops(*n.body, b);
  return f;
}

std::string KernelKind(const ir::Graph& g, const ir::Node& n) {
  if (IsGemm(n.op)) return "gemm";
  if (IsAttention(n.op)) return "attention";
  if (n.op == ir::Op::kAdamW || absl::StartsWith(g.value(n.outputs[0]).name, "adamw.") ||
      (n.op == ir::Op::kFusion && *n.attrs.GetString("pattern") == "adamw"))
    return "optimizer";
  return "other";
}

std::string GemmKey(const ir::Graph& g, const ir::Node& n) {
  std::string form = *n.attrs.GetBool("transpose_a") ? "A^T" : "A";
  form += *n.attrs.GetBool("transpose_b") ? ".B^T" : ".B";
  if (n.op == ir::Op::kMatMulBias) form += " +bias";
  if (n.op == ir::Op::kMatMulAdd) form += " +C";
  return absl::StrCat(ir::TypeToString(g.value(n.inputs[0]).type), " x ",
                      ir::TypeToString(g.value(n.inputs[1]).type), " ", form);
}

}  // namespace gptc
