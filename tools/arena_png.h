// Draws a planned graph's arena as a PNG: the step's nodes from left to right, arena offsets
// from top to bottom, one filled rectangle per buffer over its live interval. No image
// library: the file is written with stored (uncompressed) deflate blocks.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "ir/graph.h"

namespace gptc::tools {

absl::Status WriteArenaPng(const ir::Graph& planned, const std::string& path, int width = 1200,
                           int height = 800);

}  // namespace gptc::tools
