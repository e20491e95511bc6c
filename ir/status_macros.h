// Status helpers shared by the whole project (abseil 20220623 ships none).
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GPTC_CONCAT_IMPL(a, b) a##b
#define GPTC_CONCAT(a, b) GPTC_CONCAT_IMPL(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status gptc_status_ = (expr);        \
    if (!gptc_status_.ok()) return gptc_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())` binds the value of an absl::StatusOr or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  GPTC_ASSIGN_OR_RETURN_IMPL(GPTC_CONCAT(gptc_statusor_, __LINE__), lhs, expr)
#define GPTC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
