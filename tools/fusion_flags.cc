#include "tools/fusion_flags.h"

#include <iostream>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/host_target.h"
#include "ir/status_macros.h"

namespace gptc::tools {

void AddFusionFlags(FlagSet& flags) {
  flags.String("fuse", "all",
               "fusion patterns to apply: all, none, or a comma list of " +
                   absl::StrJoin(passes::FusionPatterns(), ", "));
  flags.Bool("explain-fusion", false,
             "print every fusion group formed and every candidate refused, with why");
  AddPrecisionFlag(flags);
  flags.Bool(
      "plan", true,
      "plan memory (one arena, views, in place); --no-plan gives every value its own buffer");
}

absl::StatusOr<passes::StepOptions> StepOptionsFromFlags(const FlagSet& flags,
                                                         const passes::AdamWOptions& adamw) {
  passes::StepOptions o(adamw);
  const std::string fuse = flags.GetString("fuse");
  if (fuse == "none") {
    o.fuse = false;
  } else if (fuse != "all") {
    for (absl::string_view p : absl::StrSplit(fuse, ',', absl::SkipEmpty()))
      o.fusion.patterns.insert(std::string(p));
    RETURN_IF_ERROR(passes::CheckFusionPatterns(o.fusion.patterns));
    if (o.fusion.patterns.empty()) o.fuse = false;
  }
  if (flags.GetBool("explain-fusion")) o.fusion.explain = &std::cout;
  o.plan = flags.GetBool("plan");
  ASSIGN_OR_RETURN(o.gemm_dtype, PrecisionFromFlags(flags));
  return o;
}

void AddPrecisionFlag(FlagSet& flags) {
  flags.String("precision", "fp32",
               "fp32, or bf16: GEMMs read bf16 operands and accumulate in f32; weights, AdamW, "
               "norms, softmax and the loss stay f32 (needs a CPU with AVX512_BF16)");
}

absl::StatusOr<ir::DType> PrecisionFromFlags(const FlagSet& flags) {
  const std::string p = flags.GetString("precision");
  if (p == "fp32") return ir::DType::kF32;
  if (p != "bf16")
    return absl::InvalidArgumentError("--precision must be fp32 or bf16, got '" + p + "'");
  // Without the dot-product instruction a bf16 GEMM widens its operands to f32 and runs
  // slower than the fp32 one: refused rather than silently slower.
  if (!codegen::HostHasBF16Dot())
    return absl::FailedPreconditionError(
        "--precision=bf16 needs a CPU with AVX512_BF16 (vdpbf16ps); this one lacks it (host "
        "target: " +
        codegen::HostTargetString() + "); use --precision=fp32");
  return ir::DType::kBF16;
}

}  // namespace gptc::tools
