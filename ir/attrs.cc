#include "ir/attrs.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace gptc::ir {
namespace {

absl::Status Missing(const std::string& name) {
  return absl::InvalidArgumentError(absl::StrCat("missing attribute '", name, "'"));
}
absl::Status WrongKind(const std::string& name, const char* want, const Attr& got) {
  return absl::InvalidArgumentError(
      absl::StrCat("attribute '", name, "' must be ", want, ", got ", AttrValueToString(got)));
}

}  // namespace

absl::StatusOr<int64_t> Attrs::GetInt(const std::string& name) const {
  auto it = map_.find(name);
  if (it == map_.end()) return Missing(name);
  if (auto* v = std::get_if<int64_t>(&it->second)) return *v;
  return WrongKind(name, "an integer", it->second);
}

absl::StatusOr<double> Attrs::GetFloat(const std::string& name) const {
  auto it = map_.find(name);
  if (it == map_.end()) return Missing(name);
  if (auto* v = std::get_if<double>(&it->second)) return *v;
  if (auto* v = std::get_if<int64_t>(&it->second)) return static_cast<double>(*v);
  return WrongKind(name, "a number", it->second);
}

absl::StatusOr<std::vector<int64_t>> Attrs::GetInts(const std::string& name) const {
  auto it = map_.find(name);
  if (it == map_.end()) return Missing(name);
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  return WrongKind(name, "an integer list", it->second);
}

absl::StatusOr<bool> Attrs::GetBool(const std::string& name) const {
  auto it = map_.find(name);
  if (it == map_.end()) return false;
  if (auto* v = std::get_if<bool>(&it->second)) return *v;
  return WrongKind(name, "true or false", it->second);
}

absl::StatusOr<std::string> Attrs::GetString(const std::string& name) const {
  auto it = map_.find(name);
  if (it == map_.end()) return Missing(name);
  if (auto* v = std::get_if<std::string>(&it->second)) return *v;
  return WrongKind(name, "a string", it->second);
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  // Keep floats recognisable as floats when read back (`2.0`, not `2`).
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string AttrValueToString(const Attr& a) {
  if (auto* v = std::get_if<int64_t>(&a)) return absl::StrCat(*v);
  if (auto* v = std::get_if<double>(&a)) return FormatDouble(*v);
  if (auto* v = std::get_if<bool>(&a)) return *v ? "true" : "false";
  // Strings are quoted; the parser accepts \" and \\ inside.
  if (auto* v = std::get_if<std::string>(&a))
    return "\"" + absl::StrReplaceAll(*v, {{"\\", "\\\\"}, {"\"", "\\\""}}) + "\"";
  return "[" + absl::StrJoin(std::get<std::vector<int64_t>>(a), ",") + "]";
}

std::string AttrsToString(const Attrs& attrs) {
  std::string out;
  for (const auto& [name, value] : attrs.map()) {
    if (!out.empty()) out += " ";
    absl::StrAppend(&out, name, "=", AttrValueToString(value));
  }
  return out;
}

}  // namespace gptc::ir
