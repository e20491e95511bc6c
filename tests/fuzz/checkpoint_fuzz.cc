// Fuzzes the checkpoint reader: every input is an error or a checkpoint, never a crash. The
// input is read twice: as a whole file, and as a payload under a valid header (right size and
// checksum), so mutations reach the payload parser instead of stopping at the checksum.
#include <cstdint>
#include <cstring>
#include <string>

#include "runtime/checkpoint.h"

namespace {

uint64_t Fnv1a(const std::string& s) {  // the header's checksum (runtime/checkpoint.cc)
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)gptc::ParseCheckpoint("fuzz.bin", bytes);
  // A seed file is a whole checkpoint: its payload starts after the 28-byte header.
  const std::string payload =
      bytes.size() >= 28 && bytes.compare(0, 8, "GPTCCKPT") == 0 ? bytes.substr(28) : bytes;
  std::string file("GPTCCKPT", 8);
  const uint32_t version = gptc::kCheckpointVersion;
  const uint64_t n = payload.size(), sum = Fnv1a(payload);
  file.append(reinterpret_cast<const char*>(&version), 4);
  file.append(reinterpret_cast<const char*>(&n), 8);
  file.append(reinterpret_cast<const char*>(&sum), 8);
  file += payload;
  (void)gptc::ParseCheckpoint("fuzz.bin", file);
  return 0;
}
