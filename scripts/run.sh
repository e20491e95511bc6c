#!/usr/bin/env bash
# The main job: set up, then train the default model (shakespeare-cpu: 4 layers, 4 heads, 128
# wide, context 64, batch 12 — nanoGPT's CPU recipe) on Tiny Shakespeare with the compiled
# backend for 2000 steps, and print a 500-character sample. Extra flags go to `gptc train`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
"$GPTC" train --config=shakespeare-cpu --steps=2000 --sample-tokens=500 "$@"
