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
source "$(dirname "${BASH_SOURCE[0]}")/recipe_common.sh"
TOKENS="${GPTC_TOKENS:-$OUT/shakespeare-gpt2}"
[ -n "${GPTC_TOKENS:-}" ] || "$GPTC" prepare --tokenizer=gpt2 "$DATA" --out="$TOKENS"
start=$(date +%s.%N)
"$GPTC" train "${RECIPE_GPT[@]}" "${RECIPE[@]}" --sample-tokens=200 --data="$TOKENS" \
  --out-dir="$OUT/recipe-bpe" "$@" | tee "$OUT/recipe-bpe.log"
secs=$(seconds_since "$start")
loss=$(val200 "$OUT/recipe-bpe" --data="$TOKENS")
echo "recipe-bpe: val loss $loss over 200 batches, $secs s ($(grep -o '[0-9.]* ms/step' "$OUT/recipe-bpe.log" | tail -1))"
need_matplotlib
/usr/bin/python3 "$ROOT/scripts/plot_loss.py" "$OUT/recipe-bpe" -o "$ROOT/docs/recipe_bpe_loss.png"
