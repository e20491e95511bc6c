// Draws a planned graph's arena as an SVG a person can read, as PyTorch's memory visualiser
// does: one rectangle per buffer over its live interval (x: execution order, in nodes) at its
// offset (y: MB), axes with units, a title with the arena and peak sizes, the peak marked,
// the largest buffers named in a legend, and every buffer's name on hover.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "ir/graph.h"

namespace gptc::tools {

// `what` heads the title ("gpt tiny train step").
absl::Status WriteArenaSvg(const ir::Graph& planned, const std::string& path,
                           const std::string& what);

}  // namespace gptc::tools
