// Where the training text is found. A path the user names (a `--data` flag, else $GPTC_DATA)
// must exist. Otherwise the defaults, in order: data/tinyshakespeare.txt and
// shared/data/tinyshakespeare.txt under the working directory, then under the executable's
// directory and up to five of its ancestors (so a build inside a checkout finds the checkout's
// data/, placed by scripts/setup.sh). The error lists every place looked at.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gptc {

// The directories default data is looked for in: the working directory, then the
// executable's directory and up to five of its ancestors.
std::vector<std::string> DataSearchDirs();
// The default places, in the order they are tried.
std::vector<std::string> DefaultDataCandidates();
absl::StatusOr<std::string> ResolveDataPath(const std::string& explicit_path);

}  // namespace gptc
