#include "frontend/param_init.h"

#include "ir/rng.h"

namespace gptc {

ir::LiteralMap InitParams(const std::vector<ParamSpec>& params, uint64_t seed) {
  ir::LiteralMap out;
  for (const ParamSpec& p : params) out.emplace(p.name, InitParam(p, seed));
  return out;
}

ir::Literal InitParam(const ParamSpec& p, uint64_t seed) {
  ir::Literal lit(p.type);
  {
    switch (p.init.kind) {
      case ParamInit::Kind::kZeros:
        break;
      case ParamInit::Kind::kOnes:
        for (double& x : lit.data) x = 1.0;
        break;
      case ParamInit::Kind::kNormal: {
        Rng rng = Rng::ForName(seed, p.name);
        for (double& x : lit.data) x = static_cast<float>(rng.Normal(0.0, p.init.std));
        break;
      }
    }
  }
  return lit;
}

int64_t CountParams(const std::vector<ParamSpec>& params) {
  int64_t n = 0;
  for (const ParamSpec& p : params) n += p.type.num_elements();
  return n;
}

}  // namespace gptc
