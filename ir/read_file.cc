#include "ir/read_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace gptc::ir {

std::optional<std::string> ReadFile(const std::string& path) {
  // A directory opens as a stream of no bytes: it is not a file that can be read.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}

}  // namespace gptc::ir
