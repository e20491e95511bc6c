#!/usr/bin/env bash
# Peak resident memory of training, side by side in one run: gptc train (planned arena, and
# --no-plan for one buffer per value) against the PyTorch eager reference
# (bench/torch_train_step.py) on the same model, batch and number of steps. gptc's kernel
# cache is warmed first, so compilation is not what is measured.
#
#   bash scripts/bench_memory.sh [preset ...]      (default: shakespeare-cpu baby)
# Installs python3-torch if missing (root or sudo).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/torch_env.sh"
PRESETS=("$@")
[ ${#PRESETS[@]} -eq 0 ] && PRESETS=(shakespeare-cpu baby)

# Runs a command and prints the peak resident set size of the process it starts, in MiB.
peak_mib() {
  /usr/bin/python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print("%.1f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0))
PY
}

for preset in "${PRESETS[@]}"; do
  steps=20; [ "$preset" = baby ] && steps=5
  train=("$GPTC" train --config="$preset" --steps="$steps" --sample-tokens=0 --eval-interval=100000 --eval-batches=1)
  "${train[@]}" --steps=1 >/dev/null  # warm the kernel cache
  "${train[@]}" --steps=1 --no-plan >/dev/null
  planned=$(peak_mib "${train[@]}")
  naive=$(peak_mib "${train[@]}" --no-plan)
  torch=$(peak_mib env OMP_NUM_THREADS=2 /usr/bin/python3 "$ROOT/bench/torch_train_step.py" --config "$preset" \
          --threads 0 --steps "$steps" --warmup 1)
  awk -v p="$planned" -v n="$naive" -v t="$torch" -v preset="$preset" 'BEGIN {
    printf "RESULT %s: peak RSS gptc %.1f MiB (planned), %.1f MiB (--no-plan), PyTorch %.1f MiB -> gptc/PyTorch %.0f%%, planned/no-plan %.0f%%\n",
      preset, p, n, t, 100 * p / t, 100 * p / n }'
done
