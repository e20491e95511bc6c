// Data parallelism as a user runs it: `mpirun -np 2 gptc train` against one process with the
// whole batch, every replica's parameters compared bit for bit after every step, and a
// replica dying mid-run ending the job with an error instead of a hang.
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_process.h"

namespace gptc {
namespace {

using Result = testing::ProcessResult;

// As root (CI) Open MPI wants --allow-run-as-root; --oversubscribe lets 2 ranks share cores
// with the other tests; containers may block the single-copy transport, which is switched off.
const std::string kMpirun =
    "mpirun --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none ";

bool HaveMpirun() { return testing::RunCommand("command -v mpirun").code == 0; }

std::string Train(const std::string& out_dir, int batch, const std::string& config = "tiny") {
  return absl::StrCat(GPTC_BINARY, " train --config=", config,
                      " --steps=10 --log-interval=1 --eval-interval=10 "
                      "--eval-batches=2 --sample-tokens=0 --progress=false --threads=1 "
                      "--lr=3e-3 --warmup=0 --cache-dir=" GPTC_BINARY_DIR
                      "/test-kernel-cache --batch-size=",
                      batch, " --out-dir=", out_dir);
}

std::vector<double> Losses(const std::string& metrics) {
  std::ifstream in(metrics);
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  }
  return out;
}

// 2 ranks x batch 2 against 1 process x batch 4: the same rows of the same global batches,
// the gradients averaged, so the same losses up to f32 summation order; and every replica's
// parameters and moments are bit-identical after every step (--check-replicas=1 fails the run
// otherwise). For each model family.
TEST(Mpi, TwoRanksTrainAsOneProcessWithTheWholeBatch) {
  if (!HaveMpirun()) GTEST_SKIP() << "mpirun not installed (bash scripts/setup.sh installs it)";
  for (const std::string config : {"tiny", "tiny-llama"}) {
    SCOPED_TRACE(config);
    const std::string dir = ::testing::TempDir() + config;
    const std::string one = dir + "-dp-one", two = dir + "-dp-two";
    Result r1 = testing::RunCommand(Train(one, 4, config));
    ASSERT_EQ(r1.code, 0) << r1.out;
    // With the status line left on: under mpirun it must not appear (see below).
    Result r2 = testing::RunCommand(
        kMpirun + "-np 2 " +
        absl::StrReplaceAll(Train(two, 2, config), {{"--progress=false ", ""}}) +
        " --check-replicas=1");
    ASSERT_EQ(r2.code, 0) << r2.out;
    EXPECT_NE(r2.out.find("data parallel: 2 replicas x batch 2 = global batch 4"),
              std::string::npos)
        << r2.out;
    EXPECT_NE(r2.out.find("allreduce: "), std::string::npos) << r2.out;
    // mpirun gives each rank a pseudo-terminal; output to a pipe still gets plain lines.
    EXPECT_EQ(r2.out.find("\033["), std::string::npos) << r2.out;
    const std::vector<double> a = Losses(one + "/metrics.jsonl"),
                              b = Losses(two + "/metrics.jsonl");
    ASSERT_EQ(a.size(), 10u);
    ASSERT_EQ(b.size(), 10u);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 1e-5 * a[i]) << "step " << i + 1;
    EXPECT_LT(b.back(), b.front() - 0.05);  // and it learns
  }
}

// A replica that dies (here: exits at step 3, GPTC_TEST_EXIT_AT_STEP) ends the whole job with
// a non-zero status and Open MPI's report, well within a minute; the survivors blocked in the
// gradient allreduce do not hang.
TEST(Mpi, ADeadReplicaEndsTheJob) {
  if (!HaveMpirun()) GTEST_SKIP() << "mpirun not installed (bash scripts/setup.sh installs it)";
  const auto start = std::chrono::steady_clock::now();
  Result r = testing::RunCommand("timeout 120 " + kMpirun + "-x GPTC_TEST_EXIT_AT_STEP=3 -np 2 " +
                                 Train(::testing::TempDir() + "dp-dead", 2));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.code, 124) << "timed out: " << r.out;  // timeout(1)'s status
  EXPECT_LT(secs, 60) << r.out;
  EXPECT_NE(r.out.find("exit"), std::string::npos) << r.out;  // mpirun names the process
}

}  // namespace
}  // namespace gptc
