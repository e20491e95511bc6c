#include "tests/train_log.h"

#include <regex>

namespace gptc::testing {

std::map<int, std::string> StepLosses(const std::string& log) {
  std::map<int, std::string> out;
  const std::regex re(R"(step (\d+)/\d+ \| loss ([0-9.]+))");
  for (std::sregex_iterator it(log.begin(), log.end(), re), end; it != end; ++it)
    out[std::stoi((*it)[1])] = (*it)[2];
  return out;
}

std::string ValLossAt(const std::string& log, int step) {
  std::smatch m;
  const std::regex re("step " + std::to_string(step) +
                      R"(: train loss [0-9.]+, val loss ([0-9.]+))");
  return std::regex_search(log, m, re) ? m[1].str() : "none";
}

}  // namespace gptc::testing
