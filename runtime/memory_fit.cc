#include "runtime/memory_fit.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "runtime/process_memory.h"

namespace gptc {

int64_t CompiledBytes(const std::vector<const ir::Graph*>& graphs) {
  int64_t arena = 0, owned = 0;
  std::map<std::string, int64_t> persistent;  // by name: shared between graphs
  for (const ir::Graph* g : graphs) {
    int64_t size[ir::kNumRegions] = {};
    for (const ir::Value& v : g->values()) {
      const int64_t bytes = v.type.bytes();
      const ir::Placement& p = v.place;
      if (!g->planned()) {  // PlanNaive: a buffer per value
        owned += bytes;
        continue;
      }
      if (p.kind != ir::Placement::Kind::kMemory) continue;
      if (p.region == ir::Region::kParam || p.region == ir::Region::kState)
        persistent[v.name] = bytes;
      else
        size[static_cast<int>(p.region)] =
            std::max(size[static_cast<int>(p.region)], p.offset + p.bytes);
    }
    arena = std::max(arena, size[static_cast<int>(ir::Region::kArena)]);
    owned += size[static_cast<int>(ir::Region::kGrad)] + size[static_cast<int>(ir::Region::kInput)];
  }
  int64_t total = arena + owned;
  for (const auto& [name, bytes] : persistent) total += bytes;
  return total;
}

int64_t InterpretedBytes(const ir::Graph& g) {
  int64_t total = 0;
  for (const ir::Value& v : g.values()) total += 8 * std::max<int64_t>(1, v.type.num_elements());
  return total;
}

absl::Status CheckFits(int64_t bytes, const std::string& what) {
  const int64_t avail = AvailableMemoryBytes();
  if (avail <= 0 || bytes <= avail) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      what, " needs ", bytes, " bytes (", bytes >> 20, " MiB) but this machine has ", avail,
      " bytes (", avail >> 20,
      " MiB) available; make the model or --batch-size smaller (gptc mem shows what fits)"));
}

}  // namespace gptc
