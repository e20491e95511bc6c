#!/usr/bin/env bash
# gptc as a library, end to end: installs the build into a temporary prefix, builds
# examples/custom_model (a standalone CMake project) against it with find_package(gptc), and
# runs it for a few steps from the repository root (so it finds data/tinyshakespeare.txt).
#   bash scripts/check_install.sh [BUILD_DIR] [STEPS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-${GPTC_BUILD_DIR:-$ROOT/build}}"
STEPS="${2:-20}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gptc-install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$ROOT/examples/custom_model" -B "$WORK/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" "${launcher[@]}" > "$WORK/configure.log" \
  || { cat "$WORK/configure.log"; exit 1; }
cmake --build "$WORK/build" > "$WORK/build.log" || { cat "$WORK/build.log"; exit 1; }
cd "$ROOT"
"$WORK/build/custom_model" --steps="$STEPS" --out="$WORK/out" | tee "$WORK/run.log"
test -s "$WORK/out/ckpt.bin" && test -s "$WORK/out/model.safetensors"
# It learned: the val loss starts at ln(65) = 4.17 and is well below it after 20 steps.
val=$(sed -n 's/^val loss \([0-9.]*\);.*/\1/p' "$WORK/run.log")
awk -v v="$val" 'BEGIN { exit !(v != "" && v < 3.8) }' \
  || { echo "check_install: val loss '$val' is not below 3.8"; exit 1; }
echo "check_install: custom_model built against $WORK/prefix and trained $STEPS steps"
