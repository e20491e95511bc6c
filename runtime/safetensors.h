// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
// and the raw little-endian data. Only F32 tensors are written or read. The reader checks
// every claim of the header against the file (offsets inside the data, sizes that match the
// shapes, no overlaps) and names the tensor or byte range at fault.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/types.h"

namespace gptc {

struct NamedTensor {
  std::string name;
  ir::Shape shape;
  std::vector<float> data;
};

absl::Status WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {});
absl::StatusOr<std::vector<NamedTensor>> ReadSafetensors(const std::string& path);
// The same from the file's bytes (`path` only names it in errors; the fuzz target's entry).
absl::StatusOr<std::vector<NamedTensor>> ParseSafetensors(const std::string& path,
                                                          const std::string& file);

}  // namespace gptc
