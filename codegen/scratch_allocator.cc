#include "codegen/scratch_allocator.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace gptc::codegen {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCache = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCache = false;
#else
constexpr bool kCache = true;
#endif
#else
constexpr bool kCache = true;
#endif

// A block: [header (its capacity) | 128-byte aligned user memory of `capacity` bytes].
constexpr size_t kHeader = 128;
constexpr size_t kPage = 4096;
// A thread keeps at most this many blocks (the search is linear).
constexpr size_t kMaxBlocks = 64;

struct Block {
  size_t capacity;
  char* base;  // what aligned_alloc returned
};

size_t& CapacityOf(void* user) { return *reinterpret_cast<size_t*>(static_cast<char*>(user) - 64); }

struct Cache {
  std::vector<Block> blocks;  // oldest first
  size_t bytes = 0;
  ~Cache() {
    for (const Block& b : blocks) std::free(b.base);
  }
};

std::atomic<uint64_t> fresh{0}, reused{0};
std::atomic<bool> poison{false};

Cache& ThreadCache() {
  thread_local Cache cache;
  return cache;
}

}  // namespace

void* ScratchMalloc(void*, size_t bytes) {
  // Rounded to pages plus a line past the end: the over-read Halide allows stays inside.
  const size_t need = (bytes + 64 + kPage - 1) / kPage * kPage;
  if (kCache) {
    Cache& c = ThreadCache();
    // The smallest cached block that fits without wasting more than the request.
    size_t best = c.blocks.size();
    for (size_t i = 0; i < c.blocks.size(); ++i) {
      const size_t cap = c.blocks[i].capacity;
      if (cap >= need && cap <= 2 * need &&
          (best == c.blocks.size() || cap < c.blocks[best].capacity))
        best = i;
    }
    if (best < c.blocks.size()) {
      const Block b = c.blocks[best];
      c.blocks.erase(c.blocks.begin() + static_cast<std::ptrdiff_t>(best));
      c.bytes -= b.capacity;
      reused.fetch_add(1, std::memory_order_relaxed);
      if (poison.load(std::memory_order_relaxed)) std::memset(b.base + kHeader, 0xff, bytes);
      return b.base + kHeader;
    }
  }
  char* base = static_cast<char*>(std::aligned_alloc(kHeader, kHeader + need));
  if (!base) return nullptr;
  fresh.fetch_add(1, std::memory_order_relaxed);
  void* user = base + kHeader;
  CapacityOf(user) = need;
  return user;
}

void ScratchFree(void*, void* ptr) {
  if (!ptr) return;
  char* base = static_cast<char*>(ptr) - kHeader;
  const size_t cap = CapacityOf(ptr);
  if (!kCache || cap > kScratchCacheBytes) {
    std::free(base);
    return;
  }
  Cache& c = ThreadCache();
  // Oldest blocks go first when the cache is full: the ones steady-state calls stopped asking
  // for.
  while (!c.blocks.empty() &&
         (c.bytes + cap > kScratchCacheBytes || c.blocks.size() >= kMaxBlocks)) {
    c.bytes -= c.blocks.front().capacity;
    std::free(c.blocks.front().base);
    c.blocks.erase(c.blocks.begin());
  }
  c.blocks.push_back({cap, base});
  c.bytes += cap;
}

void SetScratchPoison(bool on) { poison.store(on, std::memory_order_relaxed); }

void ScratchRelease() {
  Cache& c = ThreadCache();
  for (const Block& b : c.blocks) std::free(b.base);
  c.blocks.clear();
  c.bytes = 0;
}

size_t ScratchCachedBytes() { return ThreadCache().bytes; }
size_t ScratchCachedBlocks() { return ThreadCache().blocks.size(); }

ScratchStats GetScratchStats() {
  return {fresh.load(std::memory_order_relaxed), reused.load(std::memory_order_relaxed)};
}

}  // namespace gptc::codegen
