// Reading a whole file into memory, the one way every reader of gptc's files (IR text,
// checkpoints, safetensors, training text, cached kernels) does it.
#pragma once

#include <optional>
#include <string>

namespace gptc::ir {

// The file's bytes, or nullopt when it cannot be opened (callers name the file in their error).
std::optional<std::string> ReadFile(const std::string& path);

}  // namespace gptc::ir
