#include "ir/op.h"

#include <array>

namespace gptc::ir {
namespace {

struct Row {
  const char* name;
  int arity, num_outputs;
  Family family;
  uint32_t traits;
  const char* attr;
};

constexpr Row kRows[] = {
#define OP(e, text, arity, outs, family, traits) \
  {text, arity, outs, Family::k##family, traits, nullptr},
#define OP_UNARY_ATTR(name, text, traits, attr) {text, 1, 1, Family::kUnary, traits, attr},
#include "ir/ops.def"
};
constexpr int kNumOps = static_cast<int>(sizeof(kRows) / sizeof(kRows[0]));

constexpr const char* kFamilyNames[] = {
    "declaration", "fill",       "unary",     "binary",    "ternary",    "cast",  "lookup",
    "linalg",      "layout",     "reduction", "norm",      "softmax",    "loss",  "random",
    "decode",      "activation", "attention", "optimizer", "collective", "fusion"};
static_assert(sizeof(kFamilyNames) / sizeof(kFamilyNames[0]) ==
                  static_cast<size_t>(Family::kFusion) + 1,
              "a name for every family");

// Each op's place within its family: the rows of a family, counted in table order, which is
// the order of the family's enum in op.h.
std::array<OpInfo, kNumOps> MakeInfos() {
  std::array<OpInfo, kNumOps> infos{};
  std::array<int, static_cast<size_t>(Family::kFusion) + 1> next{};
  for (int i = 0; i < kNumOps; ++i) {
    const Row& r = kRows[i];
    infos[i] = {r.name,   r.arity,  r.num_outputs,
                r.family, r.traits, next[static_cast<size_t>(r.family)]++,
                r.attr};
  }
  return infos;
}

const std::array<OpInfo, kNumOps>& Infos() {
  static const std::array<OpInfo, kNumOps> infos = MakeInfos();
  return infos;
}

}  // namespace

const OpInfo& GetOpInfo(Op op) { return Infos()[static_cast<int>(op)]; }

int NumOps() { return kNumOps; }

const char* FamilyName(Family f) { return kFamilyNames[static_cast<int>(f)]; }

std::optional<Op> OpFromName(std::string_view name) {
  for (int i = 0; i < NumOps(); ++i) {
    if (std::string_view(kRows[i].name) == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}

}  // namespace gptc::ir
