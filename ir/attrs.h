// Node attributes: a small ordered map from name to an int, float, bool, int list or string.
// Order is alphabetical so that printing is deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace gptc::ir {

using Attr = std::variant<int64_t, double, bool, std::vector<int64_t>, std::string>;

class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, Attr>> init) : map_(init) {}

  void Set(const std::string& name, Attr value) { map_[name] = std::move(value); }
  bool Has(const std::string& name) const { return map_.count(name) > 0; }
  const std::map<std::string, Attr>& map() const { return map_; }
  bool empty() const { return map_.empty(); }
  bool operator==(const Attrs& o) const { return map_ == o.map_; }

  // Typed getters. A missing attribute or one of the wrong kind is an error naming both.
  absl::StatusOr<int64_t> GetInt(const std::string& name) const;
  absl::StatusOr<double> GetFloat(const std::string& name) const;  // ints are accepted too
  absl::StatusOr<std::vector<int64_t>> GetInts(const std::string& name) const;
  // Bools are optional flags: absent means false.
  absl::StatusOr<bool> GetBool(const std::string& name) const;
  absl::StatusOr<std::string> GetString(const std::string& name) const;

 private:
  std::map<std::string, Attr> map_;
};

// Text of one value as the printer writes it: `3`, `1e-05`, `true`, `[0,2,1,3]`, `"adamw"`.
// Floats use the shortest form that reads back to the same double.
std::string AttrValueToString(const Attr& a);
std::string FormatDouble(double v);
// Text of all attributes: `eps=1e-05 transpose_b=true`.
std::string AttrsToString(const Attrs& attrs);

}  // namespace gptc::ir
