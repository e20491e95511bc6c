// `gptc bench`'s accounting of a train step (bench/step_flops.h): the model FLOPs are the
// model's, however the compiler splits the products. The chunked cross-entropy computes the
// same products as the plain one (the head's weight gradient accumulated chunk by chunk with
// matmul_add), so its count must be the same; before matmul_add counted, MFU at gpt2 left
// out 15 of 16 chunks of the head's weight gradient.
#include "bench/step_flops.h"

#include "gtest/gtest.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

double StepFlops(const ir::Graph& g, int* accumulations) {
  double flops = 0;
  for (const ir::Node& n : g.nodes()) {
    flops += ModelFlops(g, n);
    if (n.op == ir::Op::kMatMulAdd) {
      ++*accumulations;
      EXPECT_EQ(KernelKind(g, n), "gemm");
      EXPECT_NE(GemmKey(g, n).find(" +C"), std::string::npos) << GemmKey(g, n);
    }
  }
  return flops;
}

TEST(StepFlops, ChunkedCrossEntropyCountsTheSameProducts) {
  int plain_adds = 0, chunked_adds = 0;
  const double plain = StepFlops(testing::TinyTrainStep(), &plain_adds);
  const double chunked = StepFlops(testing::TinyChunkedTrainStep(), &chunked_adds);
  EXPECT_EQ(plain_adds, 0);
  EXPECT_EQ(chunked_adds, 3);  // 4 chunks: the first writes the head's gradient, 3 add to it
  EXPECT_GT(plain, 0);
  EXPECT_DOUBLE_EQ(chunked, plain);
}

}  // namespace
}  // namespace gptc
