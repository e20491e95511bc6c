#include "codegen/object_cache.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ir/read_file.h"

namespace gptc::codegen {
namespace {

constexpr char kMagic[8] = {'G', 'P', 'T', 'C', 'O', 'B', 'J', '1'};

void PutU64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }

bool GetU64(const std::string& s, size_t& pos, uint64_t& v) {
  if (pos + 8 > s.size()) return false;
  std::memcpy(&v, s.data() + pos, 8);
  pos += 8;
  return true;
}

}  // namespace

uint64_t Fnv1a64(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

ObjectCache::ObjectCache(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) dir_.clear();  // an unusable cache directory only costs compile time
}

std::string ObjectCache::DefaultDir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/gptc";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/gptc";
  return "";
}

std::string ObjectCache::PathFor(const std::string& key) const {
  return absl::StrFormat("%s/%016x.obj", dir_, Fnv1a64(key));
}

std::optional<std::string> ObjectCache::Load(const std::string& key) const {
  if (!enabled()) return std::nullopt;
  const std::optional<std::string> file = ir::ReadFile(PathFor(key));
  if (!file) return std::nullopt;
  const std::string& s = *file;
  size_t pos = sizeof(kMagic);
  uint64_t key_len, obj_len, sum;
  if (s.size() < pos || std::memcmp(s.data(), kMagic, sizeof(kMagic)) != 0) return std::nullopt;
  if (!GetU64(s, pos, key_len) || !GetU64(s, pos, obj_len) || !GetU64(s, pos, sum))
    return std::nullopt;
  if (key_len != key.size() || s.size() != pos + key_len + obj_len) return std::nullopt;
  if (s.compare(pos, key_len, key) != 0) return std::nullopt;  // a hash collision
  std::string obj = s.substr(pos + key_len);
  if (Fnv1a64(obj) != sum) return std::nullopt;
  return obj;
}

void ObjectCache::Store(const std::string& key, const std::string& object) const {
  if (!enabled()) return;
  std::string s(kMagic, sizeof(kMagic));
  PutU64(s, key.size());
  PutU64(s, object.size());
  PutU64(s, Fnv1a64(object));
  s += key;
  s += object;
  const std::string path = PathFor(key);
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
    if (!out) {
      std::filesystem::remove(tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace gptc::codegen
