#include "runtime/parallel_encode.h"

#include <atomic>
#include <thread>

namespace gptc {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// A non-space ASCII byte after the newline: never whitespace in any encoding (a UTF-8 lead or
// continuation byte might start U+0085 or U+00A0, which are).
bool SafeAt(std::string_view text, size_t p) {
  const auto c = static_cast<unsigned char>(text[p]);
  return text[p - 1] == '\n' && c < 0x80 && !IsSpace(text[p]);
}

}  // namespace

std::vector<size_t> SafeCuts(std::string_view text, size_t chunk) {
  std::vector<size_t> cuts = {0};
  for (size_t p = chunk; p < text.size(); p += chunk) {
    size_t q = std::max(p, cuts.back() + 1);
    while (q < text.size() && !SafeAt(text, q)) ++q;
    if (q >= text.size()) break;
    cuts.push_back(q);
    p = q;
  }
  cuts.push_back(text.size());
  return cuts;
}

absl::StatusOr<std::vector<int32_t>> ParallelEncode(const TextTokenizer& tok, std::string_view text,
                                                    int threads) {
  if (threads <= 1 || text.size() < (1 << 20)) return tok.Encode(text);
  const std::vector<size_t> cuts = SafeCuts(text, 1 << 20);
  const size_t n = cuts.size() - 1;
  std::vector<absl::StatusOr<std::vector<int32_t>>> parts(n);
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;)
        parts[i] = tok.Encode(text.substr(cuts[i], cuts[i + 1] - cuts[i]));
    });
  for (std::thread& th : pool) th.join();
  std::vector<int32_t> out;
  for (auto& p : parts) {
    if (!p.ok()) return p.status();
    out.insert(out.end(), p->begin(), p->end());
  }
  return out;
}

}  // namespace gptc
