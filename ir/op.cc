#include "ir/op.h"

#include <array>

namespace gptc::ir {
namespace {

constexpr OpInfo kOpInfos[] = {
#define OP(e, text, arity, outs, traits) {text, arity, outs, traits},
#include "ir/ops.def"
#undef OP
};

}  // namespace

const OpInfo& GetOpInfo(Op op) { return kOpInfos[static_cast<int>(op)]; }

int NumOps() { return static_cast<int>(sizeof(kOpInfos) / sizeof(kOpInfos[0])); }

std::optional<Op> OpFromName(std::string_view name) {
  for (int i = 0; i < NumOps(); ++i) {
    if (std::string_view(kOpInfos[i].name) == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}

}  // namespace gptc::ir
