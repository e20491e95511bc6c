// GPT-2's bytes_to_unicode: each byte as one printable Unicode character, so that vocabulary
// files (encoder.json, vocab.bpe) can write byte strings as text. Bytes that are printable
// Latin-1 (! to ~, ¡ to ¬, ® to ÿ) stand for themselves; the other 68 take U+0100 onwards in
// byte order (a space is "Ġ", U+0120).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gptc {

// The code point byte `b` is written as.
uint32_t ByteToCodePoint(uint8_t b);
// The bytes a vocabulary entry stands for; nullopt when it is not valid UTF-8 or holds a
// character no byte maps to.
std::optional<std::string> VocabTextToBytes(std::string_view text);
// The reverse: bytes as vocabulary text (UTF-8).
std::string BytesToVocabText(std::string_view bytes);

}  // namespace gptc
