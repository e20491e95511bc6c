// The all-reduce pass (passes/data_parallel.h): one all_reduce node over every gradient,
// between autodiff and AdamW, its results in one block of the plan's gradient region, and on
// one replica a step identical to the step without it.
#include "passes/data_parallel.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "frontend/nn/gpt_config.h"
#include "frontend/nn/gpt.h"
#include "frontend/param_init.h"
#include "gtest/gtest.h"
#include "ir/interpreter.h"
#include "ir/rng.h"
#include "passes/autodiff.h"
#include "passes/train_graphs.h"

namespace gptc {
namespace {

TEST(DataParallel, OneAllReduceOverEveryGradientInOneBlock) {
  auto model = nn::BuildGpt(*PresetConfig("tiny"));
  ASSERT_TRUE(model.ok());
  passes::StepOptions o;
  o.all_reduce_gradients = true;
  auto g = passes::BuildTrainStep(model->graph, o);
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::Node* reduce = nullptr;
  for (const ir::Node& n : g->nodes())
    if (n.op == ir::Op::kAllReduce) {
      EXPECT_EQ(reduce, nullptr) << "more than one all_reduce";
      reduce = &n;
    }
  ASSERT_NE(reduce, nullptr);
  ASSERT_EQ(reduce->outputs.size(), model->params.size());
  std::vector<std::pair<int64_t, int64_t>> spans;  // (offset, bytes)
  for (size_t i = 0; i < reduce->outputs.size(); ++i) {
    const ir::Value& r = g->value(reduce->outputs[i]);
    EXPECT_EQ(r.name, "grad." + model->params[i].name);
    EXPECT_EQ(g->value(reduce->inputs[i]).name, r.name + ".local");
    ASSERT_EQ(r.place.kind, ir::Placement::Kind::kMemory);
    EXPECT_EQ(r.place.region, ir::Region::kGrad);
    spans.emplace_back(r.place.offset, r.place.bytes);
  }
  // Together the results tile the plan's gradient block (in AdamW's order): one MPI call
  // reduces them all.
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    EXPECT_EQ(spans[i].first, spans[i - 1].first + spans[i - 1].second) << i;
  // Run twice: it refuses, naming what is there already; before autodiff it says so.
  auto grads = passes::Autodiff(*passes::SelectOutputs(model->graph, {"loss"}));
  ASSERT_TRUE(grads.ok());
  auto once = passes::AllReduceGradients(*grads);
  ASSERT_TRUE(once.ok()) << once.status();
  auto again = passes::AllReduceGradients(*once);
  EXPECT_TRUE(absl::StrContains(again.status().message(), ".local exists already"))
      << again.status();
  auto early = passes::AllReduceGradients(model->graph);
  EXPECT_TRUE(absl::StrContains(early.status().message(), "run autodiff first")) << early.status();
}

TEST(DataParallel, OneReplicaStepsAsWithoutThePass) {
  const GptConfig cfg = *PresetConfig("tiny");
  auto model = nn::BuildGpt(cfg);
  ASSERT_TRUE(model.ok());
  std::vector<double> losses[2];
  ir::LiteralMap states[2];
  for (int k = 0; k < 2; ++k) {
    passes::StepOptions o;
    o.all_reduce_gradients = k == 1;
    auto train = passes::BuildTrainStep(model->graph, o);
    ASSERT_TRUE(train.ok()) << train.status();
    ir::LiteralMap state = InitParams(model->params, 5);
    for (ir::ValueId v : train->States())
      state[train->value(v).name] = ir::Literal(train->value(v).type);
    Rng rng(3);
    for (int step = 1; step <= 2; ++step) {
      ir::Literal tokens(ir::I32({4, 32})), targets(ir::I32({4, 32}));
      for (double& x : tokens.data) x = static_cast<double>(rng.UniformInt(65));
      for (double& x : targets.data) x = static_cast<double>(rng.UniformInt(65));
      auto out = ir::InterpretStep(*train, state,
                                   {{"tokens", tokens},
                                    {"targets", targets},
                                    {"lr", ir::Literal(ir::F32({}), {1e-3})},
                                    {"step", ir::Literal(ir::F32({}), {double(step)})}});
      ASSERT_TRUE(out.ok()) << out.status();
      losses[k].push_back((*out)[0].data[0]);
    }
    states[k] = state;
  }
  EXPECT_EQ(losses[1], losses[0]);
  for (const auto& [name, lit] : states[0]) EXPECT_EQ(states[1].at(name).data, lit.data) << name;
}

}  // namespace
}  // namespace gptc
