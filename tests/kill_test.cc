// Crash safety: `gptc train` killed with SIGKILL at random moments, many of them inside a
// checkpoint write, and resumed each time. After every kill the last checkpoint loads and never
// goes back, and the run that finally completes ends with the parameters and moments of an
// uninterrupted run, bit for bit.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/checkpoint.h"
#include "tests/run_process.h"

extern char** environ;

namespace gptc {
namespace {

const std::string kCommon =
    " --config=tiny --dropout=0.1 --threads=2 --steps=600 --decay-steps=600 --warmup=10 "
    "--checkpoint-interval=1 --eval-interval=200 --eval-batches=1 --log-interval=50 "
    "--sample-tokens=0 --progress=false --cache-dir=" +
    std::string(GPTC_BINARY_DIR) + "/test-kernel-cache";

// Starts `gptc train` with its output discarded; returns the pid.
pid_t Spawn(const std::string& args, bool stall) {
  const std::string cmd = std::string(stall ? "GPTC_CHECKPOINT_WRITE_STALL_MS=15 " : "") + "exec " +
                          GPTC_BINARY + " train" + args + " >/dev/null 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  return pid;
}

TEST(Kill, KilledAndResumedTrainingEndsAsAnUninterruptedRun) {
  const std::string dir = ::testing::TempDir() + "kill";
  std::filesystem::remove_all(dir);
  auto whole = testing::RunCommand(std::string(GPTC_BINARY) + " train" + kCommon +
                                   " --out-dir=" + dir + "/whole");
  ASSERT_EQ(whole.code, 0) << whole.out;

  const std::string out = dir + "/killed", ckpt = out + "/ckpt.bin";
  std::mt19937 rng(20261202);
  std::uniform_int_distribution<int> delay_ms(100, 700);
  int kills = 0, in_write = 0, finished = 0;
  int64_t last_step = 0;
  for (int attempt = 0; attempt < 60 && kills < 24; ++attempt) {
    const bool have = std::filesystem::exists(ckpt);
    const pid_t pid =
        Spawn(kCommon + " --out-dir=" + out + (have ? " --resume" : ""), /*stall=*/true);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {  // it finished before the kill
      ++finished;
      break;
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    ++kills;
    if (std::filesystem::exists(ckpt + ".tmp")) ++in_write;  // a write was cut short
    if (std::filesystem::exists(ckpt)) {
      auto c = ReadCheckpoint(ckpt);
      ASSERT_TRUE(c.ok()) << "after kill " << kills << ": " << c.status();
      EXPECT_GE(c->step, last_step) << "a checkpoint went back";
      last_step = c->step;
    }
  }
  EXPECT_GE(kills, 20);
  EXPECT_GE(in_write, 3) << "too few kills landed inside a checkpoint write";
  EXPECT_GT(last_step, 0);
  EXPECT_LT(last_step, 600) << "the kills did not interrupt the run";
  // Finish without interference.
  auto rest =
      testing::RunCommand(std::string(GPTC_BINARY) + " train" + kCommon + " --out-dir=" + out +
                          (std::filesystem::exists(ckpt) ? " --resume" : ""));
  ASSERT_EQ(rest.code, 0) << rest.out;
  EXPECT_FALSE(std::filesystem::exists(ckpt + ".tmp"));

  auto a = ReadCheckpoint(dir + "/whole/ckpt.bin"), b = ReadCheckpoint(ckpt);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->step, 600);
  EXPECT_EQ(b->step, 600);
  EXPECT_EQ(a->rng_state, b->rng_state);
  ASSERT_EQ(a->tensors.size(), b->tensors.size());
  for (size_t i = 0; i < a->tensors.size(); ++i)
    EXPECT_EQ(a->tensors[i].data, b->tensors[i].data) << a->tensors[i].name;
  std::cout << "kills: " << kills << " (" << in_write
            << " inside a checkpoint write), last checkpoint before the "
            << "final run at step " << last_step << "\n";
}

}  // namespace
}  // namespace gptc
