// Fuzzes byte-level BPE: every byte string (invalid UTF-8 included) encodes, and decodes back
// to itself, with GPT-2's tokenizer (where its vocabulary files are found) and with one gptc
// trains at start-up from a fixed text.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "runtime/bpe_train.h"
#include "runtime/gpt2_vocab.h"

namespace {

const std::vector<std::unique_ptr<gptc::BpeTokenizer>>& Tokenizers() {
  static const auto* t = [] {
    auto* v = new std::vector<std::unique_ptr<gptc::BpeTokenizer>>();
    const std::string text =
        "the quick brown fox jumps over the lazy dog; THE QUICK BROWN FOX. It's 12:30, isn't "
        "it?  Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n\n\tthe end, the end, the end.";
    auto trained = gptc::TrainBpe({text}, 320, "fuzz");
    if (!trained.ok()) std::abort();
    v->push_back(std::make_unique<gptc::BpeTokenizer>(*std::move(trained)));
    if (auto dir = gptc::ResolveGpt2Dir(); dir.ok())
      if (auto gpt2 = gptc::LoadGpt2Tokenizer(*dir); gpt2.ok())
        v->push_back(std::make_unique<gptc::BpeTokenizer>(*std::move(gpt2)));
    return v;
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  for (const auto& tok : Tokenizers()) {
    const std::vector<int32_t> ids = tok->Encode(in);
    auto back = tok->Decode(ids);
    if (!back.ok() || *back != in) __builtin_trap();
  }
  return 0;
}
