#include "tools/train_checkpoints.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"

namespace gptc::tools {

std::string LatestCheckpoint(const std::string& out_dir) { return out_dir + "/ckpt.bin"; }
std::string BestCheckpoint(const std::string& out_dir) { return out_dir + "/best.bin"; }

void AddCheckpointSourceFlags(FlagSet& flags, const std::string& verb,
                              const std::string& out_dir_default) {
  flags.String("out-dir", out_dir_default, "the run whose checkpoint (ckpt.bin) to " + verb);
  flags.String("checkpoint", "",
               "a checkpoint file to use instead of --out-dir's (e.g. out/best.bin; a directory: "
               "its ckpt.bin)");
}

std::string CheckpointPath(const FlagSet& flags) {
  return !flags.GetString("checkpoint").empty() ? flags.GetString("checkpoint")
                                                : LatestCheckpoint(flags.GetString("out-dir"));
}

absl::Status PrepareOutDir(const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    return absl::PermissionDeniedError(
        absl::StrCat("--out-dir ", out_dir, " cannot be created: ", ec.message()));
  const std::string probe = absl::StrCat(out_dir, "/.gptc-write-test-", getpid());
  {
    std::ofstream f(probe);
    f << "ok";
    if (!f.good())
      return absl::PermissionDeniedError(absl::StrCat("--out-dir ", out_dir, " is not writable"));
  }
  std::filesystem::remove(probe, ec);
  // A write that was killed halfway leaves its temporary behind; the checkpoints it was to
  // replace are intact, and the temporary is garbage.
  for (const char* name : {"ckpt.bin.tmp", "best.bin.tmp"})
    std::filesystem::remove(absl::StrCat(out_dir, "/", name), ec);
  return absl::OkStatus();
}

}  // namespace gptc::tools
