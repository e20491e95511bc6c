#include "runtime/byte_unicode.h"

#include <array>

namespace gptc {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 512> from_cp{};  // code point -> byte, or -1 (all of them are < 512)
};

const Tables& Get() {
  static const Tables t = [] {
    Tables t;
    t.from_cp.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t.to_cp[b] = printable ? static_cast<uint32_t>(b) : next++;
      t.from_cp[t.to_cp[b]] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return t;
}

}  // namespace

uint32_t ByteToCodePoint(uint8_t b) { return Get().to_cp[b]; }

std::optional<std::string> VocabTextToBytes(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    uint32_t cp;
    if (c < 0x80) {
      cp = c, i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<uint8_t>(text[i + 1]) & 0xC0) == 0x80) {  // mapped code points < 0x800
      cp = ((c & 0x1Fu) << 6) | (static_cast<uint8_t>(text[i + 1]) & 0x3Fu), i += 2;
    } else {
      return std::nullopt;
    }
    if (cp >= 512 || Get().from_cp[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(Get().from_cp[cp]));
  }
  return out;
}

std::string BytesToVocabText(std::string_view bytes) {
  std::string out;
  for (const char ch : bytes) {
    const uint32_t cp = ByteToCodePoint(static_cast<uint8_t>(ch));
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

}  // namespace gptc
