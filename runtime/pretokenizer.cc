#include "runtime/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "absl/strings/str_cat.h"

namespace gptc {
namespace {

// Unicode's White_Space property, for \s and \S.
#define GPTC_WS \
  "\\t-\\r "    \
  "\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" GPTC_WS "\\p{L}\\p{N}]+|[" GPTC_WS
    "]+(?![^" GPTC_WS "])|[" GPTC_WS "]+";
#undef GPTC_WS

}  // namespace

struct Pretokenizer::Impl {
  pcre2_code* code = nullptr;
  ~Impl() { pcre2_code_free(code); }
};

Pretokenizer::Pretokenizer(Pretokenizer&&) noexcept = default;
Pretokenizer& Pretokenizer::operator=(Pretokenizer&&) noexcept = default;
Pretokenizer::~Pretokenizer() = default;

absl::StatusOr<Pretokenizer> Pretokenizer::Gpt2() {
  int err = 0;
  PCRE2_SIZE offset = 0;
  Pretokenizer p;
  p.impl_ = std::make_unique<Impl>();
  p.impl_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
  if (!p.impl_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    return absl::InternalError(absl::StrCat("the GPT-2 pre-tokenizer pattern at offset ", offset,
                                            ": ", reinterpret_cast<const char*>(msg)));
  }
  // The JIT is several times faster; without it (a build of PCRE2 lacking it) the
  // interpreter gives the same matches.
  pcre2_jit_compile(p.impl_->code, PCRE2_JIT_COMPLETE);
  return p;
}

std::vector<std::string_view> Pretokenizer::Split(std::string_view text) const {
  std::vector<std::string_view> out;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    const int rc = pcre2_match(impl_->code, subject, text.size(), pos, 0, md, nullptr);
    if (rc < 0) {  // no match in the rest: invalid UTF-8 to the end
      out.push_back(text.substr(pos));
      break;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[0] > pos) out.push_back(text.substr(pos, ov[0] - pos));  // invalid bytes before it
    if (ov[1] == ov[0]) {  // cannot happen with this pattern; never loop on an empty match
      out.push_back(text.substr(ov[0], 1));
      pos = ov[0] + 1;
      continue;
    }
    out.push_back(text.substr(ov[0], ov[1] - ov[0]));
    pos = ov[1];
  }
  pcre2_match_data_free(md);
  return out;
}

}  // namespace gptc
