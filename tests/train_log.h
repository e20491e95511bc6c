// What `gptc train` printed, read back by the tests that run it: the loss of each logged step
// and the val loss estimated at a step, as printed (so equal runs compare to the digit).
#pragma once

#include <map>
#include <string>

namespace gptc::testing {

// step -> loss, from the lines `step N/M | loss L | ...`.
std::map<int, std::string> StepLosses(const std::string& log);
// The val loss of the line `step N: train loss T, val loss V`, or "none".
std::string ValLossAt(const std::string& log, int step);

}  // namespace gptc::testing
