// GPTC_CHECK: for compiler bugs only (broken invariants), never for what a user caused.
// User errors travel as absl::Status. A failed check prints its message and aborts.
#pragma once

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace gptc::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond) {
    stream_ << file << ":" << line << ": GPTC_CHECK failed: " << cond << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace gptc::internal

#define GPTC_CHECK(cond) \
  if (cond) {            \
  } else                 \
    ::gptc::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()
