// The processes of a data-parallel run (`mpirun -np N gptc train`): each holds a replica of
// the model and trains on its rows of every global batch; gradients are averaged across them
// by the train step's all_reduce node, and the losses logged are the global batch's.
//
// One communicator per process (World()), as MPI has one MPI_COMM_WORLD. Without mpirun, or
// in a build without MPI, it is a single replica and every call is a no-op or the identity.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"

namespace gptc {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  // data[i] = the mean over replicas of data[i], in place, identical on every replica.
  virtual absl::Status AllReduceMean(float* data, int64_t n) { return absl::OkStatus(); }
  virtual absl::Status AllReduceMean(double* data, int64_t n) { return absl::OkStatus(); }
  // An error naming `what` unless `hash` is the same on every replica.
  virtual absl::Status CheckSame(uint64_t hash, const std::string& what) {
    return absl::OkStatus();
  }
  // Bytes and seconds spent in AllReduceMean of floats so far (the gradients).
  int64_t reduced_bytes() const { return reduced_bytes_; }
  double reduce_seconds() const { return reduce_seconds_; }

 protected:
  int64_t reduced_bytes_ = 0;
  double reduce_seconds_ = 0;
};

// This process's communicator: MPI's world once InitWorld() found an mpirun launch, else a
// single replica.
Communicator& World();

// Joins the MPI job when the process was started by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE,
// or PMI_SIZE, is set); a plain start stays a single replica and never initialises MPI, so
// `gptc train` without mpirun behaves as it always has. An error if started by mpirun in a
// build without MPI. Call once, before anything uses World().
absl::Status InitWorld();
// Leaves the MPI job (MPI_Finalize), if one was joined.
void FinalizeWorld();
// Whether this build has MPI.
bool HaveMpi();

}  // namespace gptc
