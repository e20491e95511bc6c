#include "ir/placement.h"

namespace gptc::ir {

namespace {
constexpr const char* kRegionNames[kNumRegions] = {"arena", "param", "grad", "state", "input"};
}  // namespace

const char* RegionName(Region r) { return kRegionNames[static_cast<int>(r)]; }

std::optional<Region> RegionFromName(std::string_view name) {
  for (int i = 0; i < kNumRegions; ++i)
    if (name == kRegionNames[i]) return static_cast<Region>(i);
  return std::nullopt;
}

}  // namespace gptc::ir
