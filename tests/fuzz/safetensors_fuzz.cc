// Fuzzes the safetensors reader: every input is an error or a list of tensors whose bytes lie
// inside the file, never a crash.
#include <cstdint>
#include <string>

#include "runtime/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)gptc::ParseSafetensors("fuzz.safetensors",
                               std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
