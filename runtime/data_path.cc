#include "runtime/data_path.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/token_files.h"

namespace gptc {
namespace {

bool NonEmptyFile(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && std::filesystem::file_size(p, ec) > 0 && !ec;
}

}  // namespace

std::vector<std::string> DataSearchDirs() {
  // Nothing is compiled in (an installed gptc has no source tree): the working directory, then
  // the executable's directory and its ancestors, so a build tree inside a checkout finds the
  // checkout's data/ and the shared data beside it.
  std::vector<std::string> dirs;
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (!ec) dirs.push_back(cwd.string());
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (std::filesystem::path d = exe.parent_path(); dirs.size() < 6 && d.has_relative_path();
         d = d.parent_path())
      dirs.push_back(d.string());
  return dirs;
}

std::vector<std::string> DefaultDataCandidates() {
  std::vector<std::string> c;
  for (const std::string& d : DataSearchDirs())
    for (const char* rel : {"data/tinyshakespeare.txt", "shared/data/tinyshakespeare.txt"}) {
      std::string p = (std::filesystem::path(d) / rel).lexically_normal().string();
      if (std::find(c.begin(), c.end(), p) == c.end()) c.push_back(p);
    }
  return c;
}

absl::StatusOr<std::string> ResolveDataPath(const std::string& explicit_path) {
  std::string chosen = explicit_path;
  const char* env = std::getenv("GPTC_DATA");
  if (chosen.empty() && env && *env) chosen = env;
  if (!chosen.empty()) {  // a path the user named is never silently replaced by another
    if (NonEmptyFile(chosen) || IsTokenDirectory(chosen)) return chosen;
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
                   "\nrun scripts/setup.sh (it downloads Tiny Shakespeare), pass --data=PATH or "
                   "set $GPTC_DATA"));
}

}  // namespace gptc
