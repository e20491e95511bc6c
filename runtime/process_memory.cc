#include "runtime/process_memory.h"

#include <fstream>
#include <string>

namespace gptc {

namespace {

int64_t StatusField(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == field) {
      int64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
    std::getline(in, key);
  }
  return 0;
}

}  // namespace

int64_t PeakResidentBytes() { return StatusField("VmHWM:"); }
int64_t ResidentBytes() { return StatusField("VmRSS:"); }

int64_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t kb = 0;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

}  // namespace gptc
