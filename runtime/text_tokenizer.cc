#include "runtime/text_tokenizer.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "runtime/bpe_file.h"
#include "runtime/gpt2_vocab.h"
#include "runtime/tokenizer.h"

namespace gptc {
namespace {

// A tokenizer class behind the interface: the ids and text part, which both kinds share.
template <typename T>
class Wrapped : public TextTokenizer {
 public:
  explicit Wrapped(T t) : t_(std::move(t)) {}
  int vocab_size() const override { return t_.vocab_size(); }
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const override {
    return t_.Encode(text);
  }
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const override {
    return t_.Decode(ids);
  }

 protected:
  T t_;
};

class Char : public Wrapped<CharTokenizer> {
 public:
  using Wrapped::Wrapped;
  std::string name() const override { return kCharTokenizer; }
  std::string state() const override { return t_.alphabet(); }
  std::optional<int32_t> end_of_text() const override { return std::nullopt; }
};

class Bpe : public Wrapped<BpeTokenizer> {
 public:
  using Wrapped::Wrapped;
  std::string name() const override {
    return t_.name() == kGpt2Tokenizer ? kGpt2Tokenizer : kBpeTokenizer;
  }
  std::optional<int32_t> end_of_text() const override { return t_.SpecialId("<|endoftext|>"); }
  std::string state() const override {
    if (t_.name() == kGpt2Tokenizer) return "";
    auto text = BpeFileText(t_);
    return text.ok() ? *text : "";
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<TextTokenizer>> MakeTokenizerFromState(const std::string& name,
                                                                      const std::string& state,
                                                                      const std::string& gpt2_dir) {
  if (name == kCharTokenizer) return MakeTokenizer(name, {state, ""});
  if (name == kGpt2Tokenizer) return MakeTokenizer(name, {"", gpt2_dir});
  if (name == kBpeTokenizer) {
    ASSIGN_OR_RETURN(BpeTokenizer t, ParseBpeFile(state, "the recorded tokenizer"));
    return std::unique_ptr<TextTokenizer>(new Bpe(std::move(t)));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no tokenizer called '", name, "' (gptc has: char, gpt2, bpe)"));
}

absl::StatusOr<std::unique_ptr<TextTokenizer>> MakeTokenizer(const std::string& spec,
                                                             const TokenizerSources& sources) {
  if (spec == kCharTokenizer) {
    ASSIGN_OR_RETURN(CharTokenizer t, CharTokenizer::FromText(sources.char_text));
    return std::unique_ptr<TextTokenizer>(new Char(std::move(t)));
  }
  if (spec == kGpt2Tokenizer) {
    ASSIGN_OR_RETURN(const std::string dir, ResolveGpt2Dir(sources.gpt2_dir));
    ASSIGN_OR_RETURN(BpeTokenizer t, LoadGpt2Tokenizer(dir));
    return std::unique_ptr<TextTokenizer>(new Bpe(std::move(t)));
  }
  const std::string path = spec.rfind("bpe:", 0) == 0 ? spec.substr(4) : spec;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return absl::InvalidArgumentError(
        absl::StrCat("no tokenizer called '", spec,
                     "' (gptc has: char, gpt2, or a file from `gptc tokenizer train`)"));
  ASSIGN_OR_RETURN(BpeTokenizer t, LoadBpeFile(path));
  return std::unique_ptr<TextTokenizer>(new Bpe(std::move(t)));
}

}  // namespace gptc
