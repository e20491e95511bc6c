// A build without MPI: a single replica always (runtime/communicator.h).
#include "runtime/communicator.h"

namespace gptc {

bool HaveMpi() { return false; }

std::unique_ptr<Communicator> MakeMpiCommunicator(absl::Status* status) {
  *status = absl::FailedPreconditionError("this gptc was built without MPI");
  return nullptr;
}

void FinalizeMpi() {}

}  // namespace gptc
