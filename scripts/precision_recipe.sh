#!/usr/bin/env bash
# Accuracy of mixed precision: nanoGPT's shakespeare-char CPU recipe (scripts/recipe_common.sh)
# trained by gptc twice with the same seeds, --precision=fp32 and then
# --precision=bf16, one after the other in one run. Prints each run's final val loss (the
# recipe's 20-batch estimate, and 200 batches by `gptc eval` in the run's own precision), wall
# time, and the bf16 - fp32 differences.
#
#   bash scripts/precision_recipe.sh [extra gptc train flags]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/recipe_common.sh"
declare -A val val200 secs
for p in fp32 bf16; do
  start=$(date +%s.%N)
  "$GPTC" train "${RECIPE_GPT[@]}" "${RECIPE[@]}" --sample-tokens=0 --seed=1 --data-seed=101 \
    --data="$DATA" --precision="$p" --out-dir="$OUT/precision-$p" "$@" | tee "$OUT/precision-$p.log"
  secs[$p]=$(seconds_since "$start")
  val[$p]=$(sed -n 's/^step 2000: train loss [0-9.]*, val loss \([0-9.]*\).*/\1/p' "$OUT/precision-$p.log")
  val200[$p]=$(val200 "$OUT/precision-$p" --data="$DATA" --precision="$p")
done
awk -v f="${val[fp32]}" -v b="${val[bf16]}" -v f2="${val200[fp32]}" -v b2="${val200[bf16]}" \
  -v fs="${secs[fp32]}" -v bs="${secs[bf16]}" 'BEGIN {
  printf "RESULT precision: fp32 val %s (200 batches: %s) in %.1f s | bf16 val %s (200 batches: %s) in %.1f s | bf16 - fp32: %+.4f (200 batches: %+.4f), wall time %.2fx\n",
    f, f2, fs, b, b2, bs, b - f, b2 - f2, fs / bs }'
