#include "tools/fusion_flags.h"

#include <iostream>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ir/status_macros.h"

namespace gptc::tools {

void AddFusionFlags(FlagSet& flags) {
  flags.String("fuse", "all",
               "fusion patterns to apply: all, none, or a comma list of " +
                   absl::StrJoin(passes::FusionPatterns(), ", "));
  flags.Bool("explain-fusion", false,
             "print every fusion group formed and every candidate refused, with why");
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
  return o;
}

}  // namespace gptc::tools
