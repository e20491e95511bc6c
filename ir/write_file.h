// Writing a whole file so that readers see the old file or the new one, never half of one: the
// bytes go to PATH.tmp, which is then renamed over PATH (the token files, tokenizer files).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace gptc::ir {

absl::Status WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace gptc::ir
