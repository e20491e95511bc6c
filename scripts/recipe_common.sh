# Sourced by the recipe scripts (recipe.sh, recipe_bpe.sh, recipe_llama.sh,
# precision_recipe.sh): nanoGPT's shakespeare-char CPU recipe in one place, and what every run
# of it needs.
#  - ROOT, GPTC (built if missing), OUT (made), DATA (Tiny Shakespeare: data/ or ../shared),
#    as_root.
#  - RECIPE: the recipe's training options (lr 1e-3 to 1e-4 over 2000 steps with 100 warmup,
#    betas 0.9/0.99, weight decay 0.1, clip 1.0, eval every 250 steps on 20 batches, no
#    progress line); RECIPE_GPT: its GPT (shakespeare-cpu without biases or dropout).
#  - seconds_since START, val200 OUT_DIR [gptc eval flags...] (the 200-batch val loss), and
#    need_matplotlib.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
[ -x "$GPTC" ] || bash "$ROOT/scripts/setup.sh"
OUT="$ROOT/out"
mkdir -p "$OUT"
DATA="${GPTC_DATA:-$ROOT/data/tinyshakespeare.txt}"
[ -s "$DATA" ] || DATA="$ROOT/../shared/data/tinyshakespeare.txt"
RECIPE=(--steps=2000 --lr=1e-3 --min-lr=1e-4 --warmup=100 --beta1=0.9 --beta2=0.99
  --weight-decay=0.1 --grad-clip=1.0 --eval-interval=250 --eval-batches=20 --progress=false)
RECIPE_GPT=(--config=shakespeare-cpu --no-bias --dropout=0)
seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}'; }
val200() {
  local dir="$1"; shift
  "$GPTC" eval --out-dir="$dir" --batches=200 "$@" | sed -n 's/.*val loss \([0-9.]*\) over.*/\1/p'
}
need_matplotlib() {
  /usr/bin/python3 -c "import matplotlib" 2>/dev/null ||
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null
}
