#include "runtime/data_path.h"

#include <cstdlib>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gptc {
namespace {

bool NonEmptyFile(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && std::filesystem::file_size(p, ec) > 0 && !ec;
}

}  // namespace

std::vector<std::string> DefaultDataCandidates() {
  std::vector<std::string> c;
  const std::filesystem::path src(GPTC_SOURCE_DIR);
  c.push_back((src / "data/tinyshakespeare.txt").lexically_normal().string());
  c.push_back((src / "../shared/data/tinyshakespeare.txt").lexically_normal().string());
  return c;
}

absl::StatusOr<std::string> ResolveDataPath(const std::string& explicit_path) {
  std::string chosen = explicit_path;
  const char* env = std::getenv("GPTC_DATA");
  if (chosen.empty() && env && *env) chosen = env;
  if (!chosen.empty()) {  // a path the user named is never silently replaced by another
    if (NonEmptyFile(chosen)) return chosen;
    return absl::NotFoundError(absl::StrCat("data file '", chosen, "' (from ",
                                            explicit_path.empty() ? "$GPTC_DATA" : "--data",
                                            ") is missing or empty"));
  }
  std::string looked;
  for (const std::string& p : DefaultDataCandidates()) {
    if (NonEmptyFile(p)) return p;
    absl::StrAppend(&looked, "\n  ", p);
  }
  return absl::NotFoundError(
      absl::StrCat("no training text found; looked for a non-empty file at:", looked,
                   "\nrun scripts/setup.sh (it downloads Tiny Shakespeare) or pass --data=PATH"));
}

}  // namespace gptc
