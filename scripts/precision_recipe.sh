#!/usr/bin/env bash
# Accuracy of mixed precision: nanoGPT's shakespeare-char CPU recipe (the flags of
# scripts/recipe.sh) trained by gptc twice with the same seeds, --precision=fp32 and then
# --precision=bf16, one after the other in one run. Prints each run's final val loss (the
# recipe's 20-batch estimate, and 200 batches by `gptc eval` in the run's own precision), wall
# time, and the bf16 - fp32 differences.
#
#   bash scripts/precision_recipe.sh [extra gptc train flags]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
[ -x "$GPTC" ] || bash "$ROOT/scripts/setup.sh"
DATA="${GPTC_DATA:-$ROOT/data/tinyshakespeare.txt}"
[ -s "$DATA" ] || DATA="$ROOT/../shared/data/tinyshakespeare.txt"
OUT="$ROOT/out"
mkdir -p "$OUT"
declare -A val val200 secs
for p in fp32 bf16; do
  start=$(date +%s.%N)
  "$GPTC" train --config=shakespeare-cpu --no-bias --dropout=0 --steps=2000 --lr=1e-3 --min-lr=1e-4 \
    --warmup=100 --beta1=0.9 --beta2=0.99 --weight-decay=0.1 --grad-clip=1.0 --eval-interval=250 \
    --eval-batches=20 --sample-tokens=0 --progress=false --seed=1 --data-seed=101 --data="$DATA" \
    --precision="$p" --out-dir="$OUT/precision-$p" "$@" | tee "$OUT/precision-$p.log"
  secs[$p]=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')
  val[$p]=$(sed -n 's/^step 2000: train loss [0-9.]*, val loss \([0-9.]*\).*/\1/p' "$OUT/precision-$p.log")
  val200[$p]=$("$GPTC" eval --out-dir="$OUT/precision-$p" --batches=200 --data="$DATA" \
    --precision="$p" | sed -n 's/.*val loss \([0-9.]*\) over.*/\1/p')
done
awk -v f="${val[fp32]}" -v b="${val[bf16]}" -v f2="${val200[fp32]}" -v b2="${val200[bf16]}" \
  -v fs="${secs[fp32]}" -v bs="${secs[bf16]}" 'BEGIN {
  printf "RESULT precision: fp32 val %s (200 batches: %s) in %.1f s | bf16 val %s (200 batches: %s) in %.1f s | bf16 - fp32: %+.4f (200 batches: %+.4f), wall time %.2fx\n",
    f, f2, fs, b, b2, bs, b - f, b2 - f2, fs / bs }'
