#include "frontend/model.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"

namespace gptc {
namespace {

absl::StatusOr<std::string> Lookup(const ModelConfig& c, const std::string& key) {
  auto it = c.find(key);
  if (it == c.end())
    return absl::InvalidArgumentError(absl::StrCat("model config has no '", key, "'"));
  return it->second;
}

absl::Status NotA(const std::string& what, const std::string& key, const std::string& v) {
  return absl::InvalidArgumentError(
      absl::StrCat("model config: '", key, "' must be ", what, ", got '", v, "'"));
}

}  // namespace

absl::StatusOr<int64_t> ConfigInt(const ModelConfig& c, const std::string& key) {
  ASSIGN_OR_RETURN(std::string v, Lookup(c, key));
  int64_t out;
  if (!absl::SimpleAtoi(v, &out)) return NotA("an integer", key, v);
  return out;
}

absl::StatusOr<double> ConfigDouble(const ModelConfig& c, const std::string& key) {
  ASSIGN_OR_RETURN(std::string v, Lookup(c, key));
  double out;
  if (!absl::SimpleAtod(v, &out)) return NotA("a number", key, v);
  return out;
}

absl::StatusOr<bool> ConfigBool(const ModelConfig& c, const std::string& key) {
  ASSIGN_OR_RETURN(std::string v, Lookup(c, key));
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return NotA("true or false", key, v);
}

absl::StatusOr<std::string> ConfigString(const ModelConfig& c, const std::string& key) {
  return Lookup(c, key);
}

absl::Status Model::Validate() const {
  const std::string who = absl::StrCat("model '", name, "' (arch '", arch, "')");
  if (arch.empty() || name.empty())
    return absl::InvalidArgumentError("a model needs an arch and a name");
  for (auto [field, v] : {std::pair<const char*, int64_t>{"vocab", vocab},
                          {"block_size", block_size},
                          {"batch_size", batch_size}})
    if (v <= 0)
      return absl::InvalidArgumentError(
          absl::StrCat(who, ": ", field, " must be positive, got ", v));
  if (!forward) return absl::InvalidArgumentError(absl::StrCat(who, " has no forward builder"));
  if (tokenizer.empty())
    return absl::InvalidArgumentError(absl::StrCat(who, " names no tokenizer"));
  return absl::OkStatus();
}

std::string Model::Summary() const {
  std::string s = absl::StrCat(arch, " ", name, " (");
  bool first = true;
  for (const auto& [k, v] : config) {
    absl::StrAppend(&s, first ? "" : " ", k, "=", v);
    first = false;
  }
  return s + ")";
}

absl::StatusOr<std::vector<ParamSpec>> Model::Params() const {
  ASSIGN_OR_RETURN(ForwardGraph f, forward({.batch = batch_size, .training = false}));
  return std::move(f.params);
}

std::vector<std::string> Model::ExternalNames(const std::string& param) const {
  if (!external_names) return {param};
  return external_names(param);
}

}  // namespace gptc
