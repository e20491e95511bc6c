#!/usr/bin/env bash
# The recipe headline: nanoGPT's shakespeare-char CPU recipe (bias off, dropout 0, lr 1e-3 to
# 1e-4 over 2000 steps with 100 warmup, betas 0.9/0.99, weight decay 0.1, clip 1.0, eval every
# 250 steps on 20 batches) trained by gptc and by PyTorch eager (bench/torch_recipe.py, the same
# loop as nanoGPT's train.py), one after the other in one run on the same data file. Prints
# both runs' final val loss and wall time (compilation and evaluation included) and writes the
# overlaid loss curves to docs/recipe_loss.png.
#
#   bash scripts/recipe.sh [extra gptc train flags]
# Installs python3-torch and python3-matplotlib if missing (root or sudo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source "$(dirname "${BASH_SOURCE[0]}")/torch_env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/recipe_common.sh"
need_matplotlib

start=$(date +%s.%N)
"$GPTC" train "${RECIPE_GPT[@]}" "${RECIPE[@]}" --sample-tokens=0 --data="$DATA" \
  --out-dir="$OUT/recipe-gptc" "$@" | tee "$OUT/recipe-gptc.log"
gptc_s=$(seconds_since "$start")
gptc_val=$(sed -n 's/^step 2000: train loss [0-9.]*, val loss \([0-9.]*\).*/\1/p' "$OUT/recipe-gptc.log")
# The val loss above is over 20 batches, as nanoGPT's recipe estimates it; 200 give 3x less noise.
gptc_val200=$(val200 "$OUT/recipe-gptc" --data="$DATA")

# PyTorch at its best here: Debian's torch starts with one thread and its BLAS (OpenBLAS once
# libopenblas0-pthread is installed) runs threads of its own, so each split of the two cores
# is tried on 30 steps and the fastest trains the recipe.
if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null
fi
best=""; best_split=""
for split in "1 2" "2 1" "1 1" "2 2"; do
  set -- $split
  OPENBLAS_NUM_THREADS=$2 /usr/bin/python3 "$ROOT/bench/torch_recipe.py" --threads "$1" --data "$DATA" \
    --out-dir "$OUT/recipe-torch-probe" --iters 30 --log-interval 30 --eval-interval 30 --eval-iters 1 >/dev/null
  ms=$(head -1 "$OUT/recipe-torch-probe/metrics.jsonl" | sed 's/.*"ms_per_step": \([0-9.]*\).*/\1/')
  echo "torch threads $1, OpenBLAS threads $2: $ms ms/step (30-step probe)"
  if [ -z "$best" ] || awk "BEGIN{exit !($ms < $best)}"; then best=$ms; best_split=$split; fi
done
set -- $best_split
start=$(date +%s.%N)
OPENBLAS_NUM_THREADS=$2 /usr/bin/python3 "$ROOT/bench/torch_recipe.py" --threads "$1" --data "$DATA" \
  --out-dir "$OUT/recipe-torch" | tee "$OUT/recipe-torch.log"
torch_s=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$OUT/recipe-torch.log")  # its final 200-batch eval excluded
torch_val=$(sed -n 's/.*val_loss=\([0-9.]*\).*/\1/p' "$OUT/recipe-torch.log")
torch_val200=$(sed -n 's/^final: .*val loss \([0-9.]*\) over.*/\1/p' "$OUT/recipe-torch.log")

/usr/bin/python3 "$ROOT/scripts/plot_loss.py" "$OUT/recipe-gptc" "$OUT/recipe-torch" -o "$ROOT/docs/recipe_loss.png"
awk -v gv="$gptc_val" -v gw="$gptc_val200" -v gs="$gptc_s" -v tv="$torch_val" -v tw="$torch_val200" -v ts="$torch_s" 'BEGIN {
  printf "RESULT recipe: gptc val %s (200 batches: %s) in %.1f s | PyTorch val %s (200 batches: %s) in %.1f s | gptc wall time %.2f of PyTorch'\''s\n",
    gv, gw, gs, tv, tw, ts, gs / ts }'
