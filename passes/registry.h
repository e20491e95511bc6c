// Every pass by the name the pipelines and `gptc opt --passes` use, with default options.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "passes/pipeline.h"

namespace gptc::passes {

// autodiff, adamw, dce, cse, fuse, plan, kv-prefill, kv-decode
std::vector<std::string> RegisteredPasses();
// The pass named `name`, or an error listing the names.
absl::StatusOr<PassFn> FindPass(const std::string& name);

}  // namespace gptc::passes
