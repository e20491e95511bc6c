#!/usr/bin/env bash
# Trains the same GPT with PyTorch eager (bench/torch_train_step.py) and with gptc's compiled
# train step, side by side in one run, and prints ms/step and the ratio for each preset.
#
# PyTorch is measured at its best on this machine, not only at its defaults: Debian's torch
# calls the system BLAS, which is the slow reference BLAS unless OpenBLAS is installed, and
# OpenBLAS picks its kernels by CPU type; so it runs the default environment first, then
# OpenBLAS with each core type and thread split below, and compares gptc with the fastest.
#
#   bash scripts/bench_vs_torch.sh [preset ...]      (default: shakespeare-cpu baby)
#   PRECISION=bf16 bash scripts/bench_vs_torch.sh ...  torch.autocast bf16 against gptc's
#                                                      --precision=bf16
# Installs python3-torch and libopenblas0-pthread if missing (root or sudo).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/torch_env.sh"
PRECISION=${PRECISION:-fp32}
PRESETS=("$@")
[ ${#PRESETS[@]} -eq 0 ] && PRESETS=(shakespeare-cpu baby)

torch_ms() {  # env settings..., then: preset torch_threads steps
  local preset=${@: -3:1} threads=${@: -2:1} steps=${@: -1}
  env "${@:1:$#-3}" /usr/bin/python3 "$ROOT/bench/torch_train_step.py" --config "$preset" \
    --threads "$threads" --steps "$steps" --warmup 3 --precision "$PRECISION" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p'
}

for preset in "${PRESETS[@]}"; do
  steps=20; [ "$preset" = baby ] && steps=5
  echo "== $preset ($PRECISION)"
  # Whatever BLAS is installed now, as a user would run it.
  default=$(torch_ms OMP_NUM_THREADS=2 "$preset" 0 "$steps")
  echo "torch, default environment:            ${default} ms/step"
  if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null
  fi
  best=$default; best_how="default environment"  # the fastest of every setting, this one included
  for core in Zen Haswell SkylakeX ""; do
    for split in "1 2" "2 1"; do
      set -- $split
      ms=$(torch_ms ${core:+OPENBLAS_CORETYPE=$core} OPENBLAS_NUM_THREADS="$2" "$preset" "$1" "$steps")
      how="OpenBLAS ${core:-auto}, torch threads $1, OpenBLAS threads $2"
      printf 'torch, %-46s %s ms/step\n' "$how:" "$ms"
      if [ -z "$best" ] || awk "BEGIN{exit !($ms < $best)}"; then best=$ms; best_how=$how; fi
    done
  done
  line=$("$GPTC" bench --config="$preset" --steps="$steps" --compile-time=false \
    --precision="$PRECISION" | grep "^train step")
  gptc_ms=$(echo "$line" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
  echo "gptc: $line"
  awk -v g="$gptc_ms" -v t="$best" -v d="$default" -v how="$best_how" 'BEGIN {
    printf "RESULT %s '"$PRECISION"': gptc %.2f ms/step; torch best %.2f ms/step (%s) -> gptc is %.2fx faster; vs torch default %.2f ms/step -> %.2fx\n",
      "'"$preset"'", g, t, how, t / g, d, d / g }'
done
