#include "codegen/host_target.h"

#include <Halide.h>
#include <llvm/Config/llvm-config.h>

#include "absl/strings/str_cat.h"

namespace gptc::codegen {

std::string HostTargetString() { return Halide::get_host_target().to_string(); }

bool HostHasBF16Dot() {
  return Halide::get_host_target().has_feature(Halide::Target::AVX512_SapphireRapids);
}

std::string ToolchainVersions() {
  // Halide 14's headers carry no version macro; the CMake package version is passed in.
  return absl::StrCat("Halide ", GPTC_HALIDE_VERSION, " (built against LLVM ",
                      Halide::Internal::get_llvm_version(), "), LLVM ", LLVM_VERSION_STRING);
}

}  // namespace gptc::codegen
