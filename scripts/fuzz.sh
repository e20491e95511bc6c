#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS: ir_text_fuzz (parse, verify, print, parse again),
# checkpoint_fuzz or safetensors_fuzz (the readers of those files), bpe_roundtrip_fuzz (byte-level
# BPE encodes any bytes and decodes them back).
#
#   bash scripts/fuzz.sh TARGET SECONDS
#
# Builds the targets with clang-14 under AddressSanitizer and UndefinedBehaviorSanitizer into
# build-fuzz/ (installs clang-14 and libclang-rt-14-dev if missing). The corpus starts from the
# project's own files: the IR of tests/testdata and the seeds in tests/fuzz/seeds/TARGET; what
# the fuzzer adds is kept in build-fuzz/corpus/TARGET for the next run. A crash, leak, timeout
# or sanitizer report fails the run and leaves the input as build-fuzz/crash-* (or leak-*,
# timeout-*): copy it into tests/fuzz/regressions/TARGET/, where ctest replays it
# (FuzzReplay.TARGET) on every build, and fix the bug.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET=${1:?usage: fuzz.sh TARGET SECONDS}
SECS=${2:?usage: fuzz.sh TARGET SECONDS}
BUILD="${GPTC_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
case "$TARGET" in ir_text_fuzz|checkpoint_fuzz|safetensors_fuzz|bpe_roundtrip_fuzz) ;; *)
  echo "fuzz.sh: unknown target '$TARGET'; targets: ir_text_fuzz checkpoint_fuzz safetensors_fuzz bpe_roundtrip_fuzz" >&2; exit 2;; esac

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
for p in clang-14 libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
  fi
done
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
    -DCMAKE_CXX_COMPILER=clang++-14 -DGPTC_FUZZ=ON -DGPTC_SANITIZE=address,undefined -DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$BUILD" --target "$TARGET" -- -j"$(nproc)" >"$BUILD/build-$TARGET.log" 2>&1 ||
  { tail -30 "$BUILD/build-$TARGET.log" >&2; echo "fuzz.sh: building $TARGET failed" >&2; exit 1; }

CORPUS="$BUILD/corpus/$TARGET"
SEEDS="$BUILD/seeds/$TARGET"
mkdir -p "$CORPUS" "$SEEDS"
cp -r "$ROOT/tests/fuzz/seeds/$TARGET/." "$SEEDS/"
cp -r "$ROOT/tests/fuzz/regressions/$TARGET/." "$SEEDS/"
[ "$TARGET" = ir_text_fuzz ] && find "$ROOT/tests/testdata" -name '*.ir' -exec cp {} "$SEEDS/" \;
cd "$BUILD"
# Leaks are reported at the end of each input (detect_leaks); any report is a failure.
status=0
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  "$BUILD/tests/fuzz/$TARGET" "$CORPUS" "$SEEDS" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
  -max_len=262144 -print_final_stats=1 -artifact_prefix="$BUILD/" >"$BUILD/$TARGET.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  grep -E "ERROR|SUMMARY|Test unit written|panic" "$BUILD/$TARGET.log" | head -20 >&2 || true
  echo "fuzz.sh: $TARGET failed (exit $status); the log is $BUILD/$TARGET.log" >&2
  exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$BUILD/$TARGET.log")
echo "fuzz.sh: $TARGET ran $SECS s clean: $execs executions, corpus $(ls "$CORPUS" | wc -l) inputs"
