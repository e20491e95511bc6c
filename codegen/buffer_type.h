// The halide_type_t of a kernel argument of each IR element type, for the runtime buffers
// the executable and the tuner's timer pass to compiled kernels.
#pragma once

#include <HalideRuntime.h>

#include "ir/types.h"

namespace gptc::codegen {

inline halide_type_t BufferType(ir::DType t) {
  switch (t) {
    case ir::DType::kF32:
      return halide_type_t(halide_type_float, 32);
    case ir::DType::kI32:
      return halide_type_t(halide_type_int, 32);
    case ir::DType::kBF16:
      return halide_type_t(halide_type_bfloat, 16);
  }
  return halide_type_t(halide_type_float, 32);
}

}  // namespace gptc::codegen
