// The Communicator over Open MPI (Debian's libopenmpi-dev). Compiled only when CMake finds
// MPI; runtime/no_mpi.cc stands in otherwise.
#include <mpi.h>

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/communicator.h"

namespace gptc {
namespace {

bool initialized = false;

absl::Status Check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return absl::OkStatus();
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return absl::InternalError(absl::StrCat("MPI ", what, " failed: ", std::string(msg, len)));
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  // Summed with MPI_Allreduce then scaled: every replica receives the same sums (a reduction
  // of IEEE additions combined in the same order on every rank), so the updates that follow
  // keep the replicas bit-identical (CheckSame verifies it with --check-replicas).
  absl::Status AllReduceMean(float* data, int64_t n) override {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t done = 0; done < n;) {  // MPI counts are ints
      const int count = static_cast<int>(std::min<int64_t>(n - done, 1 << 30));
      if (absl::Status s = Check(
              MPI_Allreduce(MPI_IN_PLACE, data + done, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
              "Allreduce");
          !s.ok())
        return s;
      done += count;
    }
    const float scale = 1.0f / static_cast<float>(size_);
    for (int64_t i = 0; i < n; ++i) data[i] *= scale;
    reduced_bytes_ += 4 * n;
    reduce_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return absl::OkStatus();
  }

  absl::Status AllReduceMean(double* data, int64_t n) override {
    if (absl::Status s = Check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE,
                                             MPI_SUM, MPI_COMM_WORLD),
                               "Allreduce");
        !s.ok())
      return s;
    for (int64_t i = 0; i < n; ++i) data[i] /= size_;
    return absl::OkStatus();
  }

  absl::Status CheckSame(uint64_t hash, const std::string& what) override {
    uint64_t lo = hash, hi = hash;
    if (absl::Status s =
            Check(MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD),
                  "Allreduce");
        !s.ok())
      return s;
    if (absl::Status s =
            Check(MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD),
                  "Allreduce");
        !s.ok())
      return s;
    if (lo != hi)
      return absl::InternalError(absl::StrCat(what, " differ between the ", size_,
                                              " replicas (rank ", rank_, " has hash ", hash, ")"));
    return absl::OkStatus();
  }

 private:
  int rank_, size_;
};

}  // namespace

bool HaveMpi() { return true; }

std::unique_ptr<Communicator> MakeMpiCommunicator(absl::Status* status) {
  // A failed call returns its error instead of aborting the job, so it can be reported.
  if (absl::Status s = Check(MPI_Init(nullptr, nullptr), "Init"); !s.ok()) {
    *status = s;
    return nullptr;
  }
  initialized = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::make_unique<MpiCommunicator>(rank, size);
}

void FinalizeMpi() {
  if (initialized) MPI_Finalize();
  initialized = false;
}

}  // namespace gptc
