// Encoding a large text on several threads with exactly the ids of one Encode call: the text
// is cut only where GPT-2's pre-tokenizer (and the char tokenizer, trivially) would end a
// piece anyway, after a newline that a non-space character follows (a newline before a
// non-space is a piece of its own, and BPE merges never cross pieces).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/text_tokenizer.h"

namespace gptc {

// The cut points: 0, positions p (text[p - 1] == '\n', text[p] not whitespace) about
// `chunk` bytes apart, text.size().
std::vector<size_t> SafeCuts(std::string_view text, size_t chunk);

absl::StatusOr<std::vector<int32_t>> ParallelEncode(const TextTokenizer& tok, std::string_view text,
                                                    int threads);

}  // namespace gptc
