#include "codegen/emit_object.h"

#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringMap.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Metadata.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/raw_ostream.h>

namespace gptc::codegen {
namespace {

// Features that Halide's generation names may imply and a host may still lack.
constexpr const char* kMaybeMissing[] = {"avx512fp16", "amx-tile", "amx-int8", "amx-bf16"};

std::string ComputeDisabled() {
  llvm::StringMap<bool> host;
  llvm::sys::getHostCPUFeatures(host);
  std::string off;
  for (const char* f : kMaybeMissing) {
    auto it = host.find(f);
    if (it == host.end() || !it->second) off += std::string(off.empty() ? "" : ",") + "-" + f;
  }
  return off;
}

void AppendFeatures(std::string& features, const std::string& extra) {
  if (extra.empty()) return;
  if (!features.empty()) features += ",";
  features += extra;
}

}  // namespace

const std::string& DisabledFeatures() {
  static const std::string off = ComputeDisabled();
  return off;
}

std::string EmitObject(const Halide::Module& module) {
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> m = Halide::compile_module_to_llvm_module(module, context);
  const std::string& off = DisabledFeatures();
  if (!off.empty()) {
    for (llvm::Function& f : *m) {
      std::string features = f.getFnAttribute("target-features").getValueAsString().str();
      AppendFeatures(features, off);
      f.addFnAttr("target-features", features);
    }
    // Halide builds the TargetMachine from these module flags.
    if (auto* md = llvm::dyn_cast_or_null<llvm::MDString>(m->getModuleFlag("halide_mattrs"))) {
      std::string features = md->getString().str();
      AppendFeatures(features, off);
      m->setModuleFlag(llvm::Module::Warning, "halide_mattrs",
                       llvm::MDString::get(context, features));
    }
  }
  llvm::SmallVector<char, 0> bytes;
  llvm::raw_svector_ostream out(bytes);
  Halide::compile_llvm_module_to_object(*m, out);
  return std::string(bytes.data(), bytes.size());
}

}  // namespace gptc::codegen
