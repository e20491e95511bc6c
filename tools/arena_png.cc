#include "tools/arena_png.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "passes/plan_internal.h"

namespace gptc::tools {
namespace {

uint32_t Crc32(const uint8_t* p, size_t n, uint32_t crc = 0) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void Be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

void Chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  Be32(png, static_cast<uint32_t>(data.size()));
  std::vector<uint8_t> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  Be32(png, Crc32(body.data(), body.size()));
}

// A zlib stream of stored blocks (no compression), as PNG's IDAT requires zlib framing.
std::vector<uint8_t> ZlibStored(const std::vector<uint8_t>& raw) {
  std::vector<uint8_t> z = {0x78, 0x01};
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - pos);
    z.push_back(pos + n == raw.size() ? 1 : 0);
    z.push_back(n & 0xff);
    z.push_back(n >> 8);
    z.push_back(~n & 0xff);
    z.push_back((~n >> 8) & 0xff);
    z.insert(z.end(), raw.begin() + pos, raw.begin() + pos + n);
    pos += n;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (uint8_t c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  Be32(z, (b << 16) | a);
  return z;
}

}  // namespace

absl::Status WriteArenaPng(const ir::Graph& g, const std::string& path, int width, int height) {
  const std::vector<passes::plan::Interval> items = passes::plan::ArenaIntervals(g);
  int64_t arena = 1;
  for (const auto& i : items) arena = std::max(arena, g.value(i.root).place.offset + i.bytes);
  const int64_t steps = std::max(1, g.num_nodes());
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3, 255);
  int k = 0;
  for (const auto& i : items) {
    const int64_t off = g.value(i.root).place.offset;
    const int64_t end = i.end == passes::plan::kForever ? steps : i.end + 1;
    const int x0 = static_cast<int>(std::max<int64_t>(0, i.begin) * width / steps);
    const int x1 = std::max(x0 + 1, static_cast<int>(end * width / steps));
    const int y0 = static_cast<int>(off * height / arena);
    const int y1 = std::max(y0 + 1, static_cast<int>((off + i.bytes) * height / arena));
    // Distinct hues for neighbours; a darker outline separates touching buffers.
    const uint8_t col[3] = {static_cast<uint8_t>(60 + (k * 97) % 160),
                            static_cast<uint8_t>(80 + (k * 53) % 150),
                            static_cast<uint8_t>(120 + (k * 31) % 130)};
    ++k;
    for (int y = y0; y < std::min(y1, height); ++y)
      for (int x = x0; x < std::min(x1, width); ++x) {
        const bool edge = y == y0 || x == x0 || y == y1 - 1 || x == x1 - 1;
        for (int c = 0; c < 3; ++c)
          rgb[(static_cast<size_t>(y) * width + x) * 3 + c] = edge ? col[c] / 2 : col[c];
      }
  }
  std::vector<uint8_t> raw;
  raw.reserve(rgb.size() + height);
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), rgb.begin() + static_cast<std::ptrdiff_t>(y) * width * 3,
               rgb.begin() + static_cast<std::ptrdiff_t>(y + 1) * width * 3);
  }
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  Be32(ihdr, width);
  Be32(ihdr, height);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB
  Chunk(png, "IHDR", ihdr);
  Chunk(png, "IDAT", ZlibStored(raw));
  Chunk(png, "IEND", {});
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  out.close();
  if (!out) return absl::InvalidArgumentError(absl::StrCat("cannot write --png file '", path, "'"));
  return absl::OkStatus();
}

}  // namespace gptc::tools
