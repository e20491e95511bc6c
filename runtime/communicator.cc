#include "runtime/communicator.h"

#include <cstdlib>

namespace gptc {
namespace {

std::unique_ptr<Communicator>& Slot() {
  static std::unique_ptr<Communicator> world = std::make_unique<Communicator>();
  return world;
}

}  // namespace

// Defined in mpi_communicator.cc, or as a stub below in a build without MPI.
std::unique_ptr<Communicator> MakeMpiCommunicator(absl::Status* status);
void FinalizeMpi();

Communicator& World() { return *Slot(); }

absl::Status InitWorld() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!size) size = std::getenv("PMI_SIZE");
  if (!size) return absl::OkStatus();
  if (!HaveMpi())
    return absl::FailedPreconditionError(
        "started by mpirun, but this gptc was built without MPI (install libopenmpi-dev and "
        "rebuild: bash scripts/setup.sh)");
  absl::Status s;
  std::unique_ptr<Communicator> c = MakeMpiCommunicator(&s);
  if (!s.ok()) return s;
  Slot() = std::move(c);
  return absl::OkStatus();
}

void FinalizeWorld() { FinalizeMpi(); }

}  // namespace gptc
