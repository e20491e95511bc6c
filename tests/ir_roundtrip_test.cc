// parse(print(g)) must print identically, for every op and for every preset's GPT.
#include <set>

#include "frontend/nn/gpt.h"
#include "frontend/nn/gpt_config.h"
#include "gtest/gtest.h"
#include "ir/attrs.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "tests/test_graphs.h"

namespace gptc {
namespace {

void ExpectRoundTrip(const ir::Graph& g) {
  const std::string text = ir::PrintGraph(g);
  auto parsed = ir::ParseGraph(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  EXPECT_TRUE(ir::Verify(*parsed).ok()) << ir::Verify(*parsed);
  EXPECT_EQ(ir::PrintGraph(*parsed), text);
  EXPECT_EQ(parsed->num_nodes(), g.num_nodes());
}

// AllOpsGraph holds every unfused op, the fused tiny train steps every fused op (with its
// body): with dropout on the attention probabilities, attention fuses as scale_mask_softmax
// instead of causal_attention; with the exact GELU, bias_gelu_erf; with a chunked
// cross-entropy, matmul_add. Together they use every row of ops.def.
TEST(RoundTrip, EveryOp) {
  ir::Graph g = testing::AllOpsGraph();
  ir::Graph fused = testing::TinyTrainStep();
  ir::Graph fused_dropout = testing::TinyTrainStep(true, 0.1);
  ir::Graph fused_erf = testing::TinyTrainStep(true, 0.0, "erf");
  ir::Graph chunked = testing::TinyChunkedTrainStep();
  std::set<ir::Op> used;
  for (const ir::Graph* graph : {&g, &fused, &fused_dropout, &fused_erf, &chunked})
    for (const ir::Node& n : graph->nodes()) used.insert(n.op);
  for (int i = 0; i < ir::NumOps(); ++i)
    EXPECT_TRUE(used.count(static_cast<ir::Op>(i)))
        << "no test graph uses op '" << ir::OpName(static_cast<ir::Op>(i)) << "'";
  ExpectRoundTrip(g);
  ExpectRoundTrip(fused);
  ExpectRoundTrip(fused_dropout);
  ExpectRoundTrip(fused_erf);
  ExpectRoundTrip(chunked);
}

TEST(RoundTrip, GptOfEveryPreset) {
  for (const std::string& name : GptPresetNames()) {
    SCOPED_TRACE(name);
    auto cfg = PresetConfig(name);
    ASSERT_TRUE(cfg.ok());
    auto m = nn::BuildGpt(*cfg);
    ASSERT_TRUE(m.ok()) << m.status();
    ExpectRoundTrip(m->graph);
  }
}

TEST(RoundTrip, FloatAttributesReadBackExactly) {
  for (double v : {1e-5, 0.1, 1.0 / 3.0, 0.17677669529663687, 1e300, -2.5, 3.0, 0.0}) {
    const std::string s = ir::FormatDouble(v);
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
    EXPECT_NE(s.find_first_of(".en"), std::string::npos) << s << " would read back as an int";
  }
  EXPECT_EQ(ir::FormatDouble(1e-5), "1e-05");
  EXPECT_EQ(ir::FormatDouble(3.0), "3.0");
}

TEST(RoundTrip, HandWrittenTextWithCommentsAndAnyLayout) {
  const char* text = R"(// a comment
graph g(%a: f32[2], %b: f32[2] param) {
  %c = f32[2] add(%a, %b)   // trailing comment
  %d = f32[2]
       scale(%c) factor=0.5
  return %d, %c
})";
  auto g = ir::ParseGraph(text);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(ir::Verify(*g).ok());
  EXPECT_EQ(ir::PrintGraph(*g),
            "graph g(\n    %a: f32[2],\n    %b: f32[2] param,\n) {\n"
            "  %c = f32[2] add(%a, %b)\n  %d = f32[2] scale(%c)  factor=0.5\n"
            "  return %d, %c\n}\n");
  ExpectRoundTrip(*g);
}

}  // namespace
}  // namespace gptc
