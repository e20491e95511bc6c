#include "ir/read_file.h"

#include <fstream>
#include <sstream>

namespace gptc::ir {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}

}  // namespace gptc::ir
