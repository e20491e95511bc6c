#!/usr/bin/env bash
# Set up, then run the whole test suite with ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
ctest --test-dir "${GPTC_BUILD_DIR:-$ROOT/build}" --output-on-failure -j"$(nproc)" "$@"
