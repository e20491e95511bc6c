#!/usr/bin/env bash
# The main job: set up, then run the default model on Tiny Shakespeare.
# For now this prints the model's IR and its loss on a real batch; training and sampling
# take this place as the backends arrive.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
"$GPTC" ir --config=shakespeare-cpu
"$GPTC" eval --config=shakespeare-cpu "$@"
