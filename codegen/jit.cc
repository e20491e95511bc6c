#include "codegen/jit.h"

#include <llvm/ExecutionEngine/JITLink/JITLinkMemoryManager.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>

#include "absl/strings/str_cat.h"
#include "codegen/amx_attention.h"
#include "codegen/amx_gemm.h"
#include "codegen/scratch_allocator.h"
#include "codegen/spin_pool.h"

namespace gptc::codegen {

struct Jit::Impl {
  std::unique_ptr<llvm::orc::LLJIT> lljit;
};

namespace {

absl::Status FromLlvm(llvm::Error err, const std::string& what) {
  if (!err) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", llvm::toString(std::move(err))));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Jit>> Jit::Create(const std::string& runtime_object) {
  static const bool initialised = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialised;
  // JITLink, not the default RuntimeDyld: RuntimeDyld's SectionMemoryManager maps an
  // object's code and data separately, and once a large model has taken gigabytes of
  // address space in between they can land more than 2 GB apart, past the reach of the
  // small code model's 32-bit relocations (a gpt2 run crashed in the Halide runtime's first
  // call that way). JITLink lays out each object in one block and reaches other objects and
  // libc through its own GOT and PLT stubs.
  auto lljit =
      llvm::orc::LLJITBuilder()
          .setObjectLinkingLayerCreator(
              [](llvm::orc::ExecutionSession& es,
                 const llvm::Triple&) -> llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>> {
                auto mm = llvm::jitlink::InProcessMemoryManager::Create();
                if (!mm) return mm.takeError();
                return std::make_unique<llvm::orc::ObjectLinkingLayer>(es, std::move(*mm));
              })
          .create();
  if (!lljit) return FromLlvm(lljit.takeError(), "creating the LLJIT");
  std::unique_ptr<Jit> jit(new Jit());
  jit->impl_ = std::make_unique<Impl>();
  jit->impl_->lljit = std::move(*lljit);
  auto& lj = *jit->impl_->lljit;
  // Kernels and the Halide runtime call libc and pthreads: resolve those from this process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      lj.getDataLayout().getGlobalPrefix());
  if (!gen) return FromLlvm(gen.takeError(), "process symbol generator");
  lj.getMainJITDylib().addGenerator(std::move(*gen));
  // The extern stages kernels call (AOT code in this library): defined by address, so they
  // resolve whether or not the executable exports its symbols.
  llvm::orc::SymbolMap externs;
  const auto callable = llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable;
  externs[lj.mangleAndIntern("gptc_amx_matmul")] =
      llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(&gptc_amx_matmul), callable);
  externs[lj.mangleAndIntern("gptc_amx_matmul_bias")] =
      llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(&gptc_amx_matmul_bias), callable);
  externs[lj.mangleAndIntern("gptc_amx_attention")] =
      llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(&gptc_amx_attention), callable);
  externs[lj.mangleAndIntern("gptc_amx_attention_grad")] =
      llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(&gptc_amx_attention_grad), callable);
  externs[lj.mangleAndIntern("gptc_amx_attention_grad_copies")] = llvm::JITEvaluatedSymbol(
      llvm::pointerToJITTargetAddress(&gptc_amx_attention_grad_copies), callable);
  if (auto err = lj.getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(externs))))
    return FromLlvm(std::move(err), "defining the extern stages");
  if (auto s = jit->AddObject(runtime_object, "halide_runtime"); !s.ok()) return s;
  // Parallel loops run on the spinning pool instead of Halide's sleeping one (spin_pool.h).
  auto set_par_for = jit->Lookup("halide_set_custom_do_par_for");
  if (!set_par_for.ok()) return set_par_for.status();
  using DoParFor = int (*)(void*, TaskFn, int, int, uint8_t*);
  reinterpret_cast<DoParFor (*)(DoParFor)> (*set_par_for)(&SpinPool::HalideDoParFor);
  // Kernels' heap scratch is reused across calls instead of mapped afresh (scratch_allocator.h).
  auto set_malloc = jit->Lookup("halide_set_custom_malloc");
  auto set_free = jit->Lookup("halide_set_custom_free");
  if (!set_malloc.ok()) return set_malloc.status();
  if (!set_free.ok()) return set_free.status();
  using Malloc = void* (*)(void*, size_t);
  using Free = void (*)(void*, void*);
  reinterpret_cast<Malloc (*)(Malloc)> (*set_malloc)(&ScratchMalloc);
  reinterpret_cast<Free (*)(Free)> (*set_free)(&ScratchFree);
  return jit;
}

Jit::~Jit() {
  if (!impl_ || !impl_->lljit) return;
  if (auto fn = Lookup("halide_shutdown_thread_pool"); fn.ok())
    reinterpret_cast<void (*)()> (*fn)();
}

absl::Status Jit::AddObject(const std::string& bytes, const std::string& name) {
  auto buf = llvm::MemoryBuffer::getMemBufferCopy(bytes, name);
  return FromLlvm(impl_->lljit->addObjectFile(std::move(buf)), "loading object " + name);
}

absl::StatusOr<void*> Jit::Lookup(const std::string& symbol) {
  auto sym = impl_->lljit->lookup(symbol);
  if (!sym) return FromLlvm(sym.takeError(), "looking up " + symbol);
  return reinterpret_cast<void*>(sym->getAddress());
}

absl::Status Jit::SetThreads(int n) {
  if (n > 0) SpinPool::Get().SetThreads(n);
  return absl::OkStatus();
}

}  // namespace gptc::codegen
