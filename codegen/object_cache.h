// On-disk cache of compiled objects, keyed by a description of what was compiled (kernel
// spec + schedule version + Halide version + target). An entry is a small header (magic, the
// full key, sizes, an FNV-1a checksum of the object) then the object; it is written to a
// temporary file and renamed into place, so a reader never sees half an entry. A truncated,
// corrupt or mismatched entry is treated as a miss and overwritten.
#pragma once

#include <optional>
#include <string>

namespace gptc::codegen {

class ObjectCache {
 public:
  // An empty dir disables the cache.
  explicit ObjectCache(std::string dir);

  std::optional<std::string> Load(const std::string& key) const;
  void Store(const std::string& key, const std::string& object) const;
  std::string PathFor(const std::string& key) const;
  bool enabled() const { return !dir_.empty(); }

  // $XDG_CACHE_HOME/gptc, else ~/.cache/gptc, else "" (disabled).
  static std::string DefaultDir();

 private:
  std::string dir_;
};

uint64_t Fnv1a64(const std::string& bytes);

}  // namespace gptc::codegen
