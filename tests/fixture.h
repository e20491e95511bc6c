// Reader of the PyTorch fixtures written by scripts/make_torch_fixture.py (format described
// there). Malformed files are errors naming the file and the byte offset, never a crash.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "ir/interpreter.h"

namespace gptc::testing {

absl::StatusOr<ir::LiteralMap> ReadFixture(const std::string& path);

// <repo>/tests/testdata/<name>
std::string TestDataPath(const std::string& name);

// max|got - want| / max|want| over the elements: the parity tests' measure of a tensor.
double RelativeMaxDiff(const ir::Literal& got, const ir::Literal& want);

}  // namespace gptc::testing
