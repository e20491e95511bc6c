#!/usr/bin/env bash
# The main job: set up, then train the default model on Tiny Shakespeare and print a sample.
# Until the compiled backend lands this trains the `tiny` preset on the reference interpreter.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
"$GPTC" train --config=tiny --backend=interp --steps=600 --lr=3e-3 --min-lr=3e-4 \
  --eval-interval=200 --log-interval=50 --sample-tokens=300 "$@"
