#!/usr/bin/env bash
# LLaMA against GPT on nanoGPT's shakespeare-char CPU recipe: llama-cpu and shakespeare-cpu
# (within 1% of each other's parameters) trained one after the other with the same settings
# (lr 1e-3 to 1e-4 over 2000 steps with 100 warmup, betas 0.9/0.99, weight decay 0.1, clip
# 1.0, eval every 250 steps on 20 batches; GPT without biases or dropout, as nanoGPT's
# recipe). Prints each run's wall time and val loss over 200 batches, and overlays the loss
# curves in docs/recipe_llama_vs_gpt.png (needs python3-matplotlib; installed if missing).
#
#   bash scripts/recipe_llama.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
[ -x "$GPTC" ] || bash "$ROOT/scripts/setup.sh"
OUT="$ROOT/out"
mkdir -p "$OUT"
FLAGS="--steps=2000 --lr=1e-3 --min-lr=1e-4 --warmup=100 --beta1=0.9 --beta2=0.99 --weight-decay=0.1
       --grad-clip=1.0 --eval-interval=250 --eval-batches=20 --sample-tokens=0 --progress=false"
run() {  # name, flags...
  local name="$1"; shift
  local start; start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$GPTC" train "$@" $FLAGS --out-dir="$OUT/$name" > "$OUT/$name.log"
  local secs; secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')
  local val; val=$("$GPTC" eval --out-dir="$OUT/$name" --batches=200 | sed -n 's/.*val loss \([0-9.]*\) over.*/\1/p')
  echo "$name: val loss $val over 200 batches, $secs s ($(grep -o '[0-9.]* ms/step' "$OUT/$name.log" | tail -1))"
}
run recipe-llama --config=llama-cpu
run recipe-gpt --config=shakespeare-cpu --no-bias --dropout=0
if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null
fi
/usr/bin/python3 "$ROOT/scripts/plot_loss.py" "$OUT/recipe-gpt" "$OUT/recipe-llama" \
  -o "$ROOT/docs/recipe_llama_vs_gpt.png"
