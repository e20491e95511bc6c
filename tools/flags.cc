#include "tools/flags.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ir/check.h"

namespace gptc::tools {

void FlagSet::String(const std::string& name, std::string def, std::string help) {
  flags_[name] = {Kind::kString, std::move(def), std::move(help)};
  order_.push_back(name);
}
void FlagSet::Int(const std::string& name, int64_t def, std::string help) {
  flags_[name] = {Kind::kInt, absl::StrCat(def), std::move(help)};
  order_.push_back(name);
}
void FlagSet::Double(const std::string& name, double def, std::string help) {
  flags_[name] = {Kind::kDouble, absl::StrCat(def), std::move(help)};
  order_.push_back(name);
}
void FlagSet::Bool(const std::string& name, bool def, std::string help) {
  flags_[name] = {Kind::kBool, def ? "true" : "false", std::move(help)};
  order_.push_back(name);
}

std::string FlagSet::Accepted() const {
  std::vector<std::string> names;
  for (const std::string& n : order_) names.push_back("--" + n);
  names.push_back("--help");
  return absl::StrJoin(names, ", ");
}

absl::Status FlagSet::Assign(const std::string& name, Flag& f, const std::string& value) {
  auto bad = [&](const char* what) {
    return absl::InvalidArgumentError(
        absl::StrCat("gptc ", command_, ": --", name, " expects ", what, ", got '", value, "'"));
  };
  switch (f.kind) {
    case Kind::kInt: {
      char* end = nullptr;
      errno = 0;
      std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno == ERANGE) return bad("an integer");
      break;
    }
    case Kind::kDouble: {
      char* end = nullptr;
      std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0') return bad("a number");
      break;
    }
    case Kind::kBool:
      if (value != "true" && value != "false") return bad("true or false");
      break;
    case Kind::kString:
      break;
  }
  f.value = value;
  f.set = true;
  return absl::OkStatus();
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 && static_cast<int>(positionals_.size()) < max_positionals_) {
      positionals_.push_back(a);  // a file name, or "-"
      continue;
    }
    if (a.rfind("--", 0) != 0)
      return absl::InvalidArgumentError(absl::StrCat("gptc ", command_, ": unexpected argument '",
                                                     a, "'; flags are written --name=value"));
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end() && !has_value && name.rfind("no-", 0) == 0) {
      auto neg = flags_.find(name.substr(3));
      if (neg != flags_.end() &&
          (neg->second.kind == Kind::kBool || neg->second.kind == Kind::kString)) {
        neg->second.value = neg->second.kind == Kind::kBool ? "false" : "none";
        neg->second.set = true;
        continue;
      }
    }
    if (it == flags_.end())
      return absl::InvalidArgumentError(
          absl::StrCat("gptc ", command_, ": unknown flag --", name, "; accepted: ", Accepted()));
    if (!has_value) {
      if (it->second.kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("gptc ", command_, ": --", name, " needs a value"));
      }
    }
    if (absl::Status s = Assign(name, it->second, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string FlagSet::GetString(const std::string& name) const {
  auto it = flags_.find(name);
  GPTC_CHECK(it != flags_.end()) << "undeclared flag " << name;
  return it->second.value;
}
int64_t FlagSet::GetInt(const std::string& name) const {
  return std::strtoll(GetString(name).c_str(), nullptr, 10);
}
double FlagSet::GetDouble(const std::string& name) const {
  return std::strtod(GetString(name).c_str(), nullptr);
}
bool FlagSet::GetBool(const std::string& name) const { return GetString(name) == "true"; }
bool FlagSet::IsSet(const std::string& name) const {
  auto it = flags_.find(name);
  return it != flags_.end() && it->second.set;
}

std::string FlagSet::Usage() const {
  std::string out = absl::StrCat("flags of 'gptc ", command_, "':\n");
  for (const std::string& n : order_) {
    const Flag& f = flags_.at(n);
    absl::StrAppend(&out, absl::StrFormat("  --%-16s %s (default: %s)\n", n, f.help,
                                          f.value.empty() ? "\"\"" : f.value));
  }
  return out;
}

}  // namespace gptc::tools
