#!/usr/bin/env bash
# The sanitized test runs: every test that needs no JIT (ctest label `core`: IR, parser,
# verifier, interpreter, autodiff and finite differences, passes and their goldens, the PyTorch
# fixture parity, the memory-plan checker, the tokenizers, and the fuzz targets' replay of every seed and
# regression) built with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/, and
# the kernels' thread pool test built with ThreadSanitizer into build-tsan/. Any report fails.
#
#   bash scripts/sanitize.sh
#
# The whole suite builds the same way (cmake -DGPTC_SANITIZE=address,undefined); its JIT
# tests are left out here only for CI time (an instrumented Halide/LLVM codegen build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORE=(ir_roundtrip_test parser_errors_test verifier_test builder_errors_test interpreter_test torch_parity_test
      gradcheck_test pass_golden_test plan_check_test gpt_gradcheck_test data_parallel_test ir_text_fuzz_replay checkpoint_fuzz_replay
      safetensors_fuzz_replay bpe_test bpe_roundtrip_fuzz_replay)

configure() {  # dir sanitizers; -O1 with line tables: quick to build, readable reports
  [ -f "$1/build.ninja" ] || cmake -S "$ROOT" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DGPTC_SANITIZE="$2" >/dev/null
}
configure "$ROOT/build-asan" address,undefined
cmake --build "$ROOT/build-asan" --target "${CORE[@]}" -- -j"$(nproc)" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$ROOT/build-asan" -L core --output-on-failure -j"$(nproc)"

configure "$ROOT/build-tsan" thread
cmake --build "$ROOT/build-tsan" --target spin_pool_test -- -j"$(nproc)" >/dev/null
TSAN_OPTIONS=halt_on_error=1 "$ROOT/build-tsan/tests/spin_pool_test"
echo "sanitize.sh: core tests clean under ASan+UBSan, the thread pool clean under TSan"
