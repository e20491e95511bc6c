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
source "$(dirname "${BASH_SOURCE[0]}")/recipe_common.sh"
run() {  # name, flags...
  local name="$1"; shift
  local start; start=$(date +%s.%N)
  "$GPTC" train "$@" "${RECIPE[@]}" --sample-tokens=0 --out-dir="$OUT/$name" > "$OUT/$name.log"
  local secs; secs=$(seconds_since "$start")
  local val; val=$(val200 "$OUT/$name")
  echo "$name: val loss $val over 200 batches, $secs s ($(grep -o '[0-9.]* ms/step' "$OUT/$name.log" | tail -1))"
}
run recipe-llama --config=llama-cpu
run recipe-gpt "${RECIPE_GPT[@]}"
need_matplotlib
/usr/bin/python3 "$ROOT/scripts/plot_loss.py" "$OUT/recipe-gpt" "$OUT/recipe-llama" \
  -o "$ROOT/docs/recipe_llama_vs_gpt.png"
