#!/usr/bin/env bash
# nanoGPT's data/shakespeare (Tiny Shakespeare in GPT-2's tokens) under the shakespeare-char CPU
# recipe's model and options (4 layers, 4 heads, 128 wide, block 64, batch 12, no biases or
# dropout; lr 1e-3 to 1e-4 over 2000 steps with 100 warmup, betas 0.9/0.99, weight decay 0.1,
# clip 1.0, eval every 250 steps on 20 batches). The vocabulary is GPT-2's 50257 ids (padded
# to 50304), so the output head dominates and the cross-entropy runs in chunks. Prints the
# wall time and the val loss over 200 batches and draws the loss curves in
# docs/recipe_bpe_loss.png (needs python3-matplotlib; installed if missing).
#
#   bash scripts/recipe_bpe.sh            # tokenises data/tinyshakespeare.txt with gptc prepare
#   GPTC_TOKENS=DIR bash scripts/recipe_bpe.sh   # or reads nanoGPT's own train.bin/val.bin
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
[ -x "$GPTC" ] || bash "$ROOT/scripts/setup.sh"
OUT="$ROOT/out"
mkdir -p "$OUT"
TOKENS="${GPTC_TOKENS:-$OUT/shakespeare-gpt2}"
if [ -z "${GPTC_TOKENS:-}" ]; then
  TEXT="$ROOT/data/tinyshakespeare.txt"
  [ -s "$TEXT" ] || TEXT="$ROOT/../shared/data/tinyshakespeare.txt"
  "$GPTC" prepare --tokenizer=gpt2 "$TEXT" --out="$TOKENS"
fi
start=$(date +%s.%N)
"$GPTC" train --config=shakespeare-cpu --no-bias --dropout=0 --steps=2000 --lr=1e-3 --min-lr=1e-4 \
  --warmup=100 --beta1=0.9 --beta2=0.99 --weight-decay=0.1 --grad-clip=1.0 --eval-interval=250 \
  --eval-batches=20 --sample-tokens=200 --progress=false --data="$TOKENS" \
  --out-dir="$OUT/recipe-bpe" "$@" | tee "$OUT/recipe-bpe.log"
secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')
val200=$("$GPTC" eval --out-dir="$OUT/recipe-bpe" --batches=200 --data="$TOKENS" |
  sed -n 's/.*val loss \([0-9.]*\) over.*/\1/p')
echo "recipe-bpe: val loss $val200 over 200 batches, $secs s ($(grep -o '[0-9.]* ms/step' "$OUT/recipe-bpe.log" | tail -1))"
if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null
fi
/usr/bin/python3 "$ROOT/scripts/plot_loss.py" "$OUT/recipe-bpe" -o "$ROOT/docs/recipe_bpe_loss.png"
