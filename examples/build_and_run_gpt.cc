// Builds the `tiny` GPT with the DSL, prints its IR, and evaluates its loss on a batch of
// Tiny Shakespeare with the reference interpreter: the library used the way a user would.
#include <cmath>
#include <iostream>

#include "frontend/nn/gpt.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "runtime/data_path.h"
#include "runtime/text_dataset.h"

int main() {
  using namespace gptc;
  auto path = ResolveDataPath("");
  if (!path.ok()) return std::cerr << path.status().message() << "\n", 1;
  auto data = TextDataset::Load(*path);
  if (!data.ok()) return std::cerr << data.status().message() << "\n", 1;

  GptConfig cfg = *PresetConfig("tiny");
  cfg.vocab = data->tokenizer().vocab_size();
  auto model = nn::BuildGpt(cfg);
  if (!model.ok()) return std::cerr << model.status().message() << "\n", 1;
  std::cout << ir::PrintGraph(model->graph);

  ir::LiteralMap args = InitParams(model->params, /*seed=*/1337);
  Rng rng(42);
  auto batch = data->Sample(Split::kVal, cfg.batch_size, cfg.block_size, rng);
  if (!batch.ok()) return std::cerr << batch.status().message() << "\n", 1;
  args["tokens"] = batch->tokens;
  args["targets"] = batch->targets;
  auto out = ir::Interpret(model->graph, args);
  if (!out.ok()) return std::cerr << out.status().message() << "\n", 1;
  std::cout << "loss " << (*out)[1].data[0] << " (ln vocab " << std::log(double(cfg.vocab))
            << ")\n";
  return 0;
}
