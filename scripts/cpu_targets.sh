#!/usr/bin/env bash
# The CPU-speed targets of issue 22 measured on this machine in one run, printed as markdown
# rows for docs/performance.md's table of this CPU (every row names its command). Parts the
# CPU cannot run say so in their row (no AVX512_BF16: no bf16 rows; no AMX: no AMX rows).
#
#   bash scripts/cpu_targets.sh            the gptc measurements (about 3 minutes)
#   bash scripts/cpu_targets.sh --torch    also gptc against PyTorch's autocast bf16
#                                          (scripts/bench_vs_torch.sh; installs python3-torch)
#   bash scripts/cpu_targets.sh --recipe   also the bf16 recipe's val loss against fp32
#                                          (scripts/precision_recipe.sh; about 2 minutes)
#
# Medians move 10-30% between runs on a shared VM: each gptc bench line also gives the quiet
# step (each kernel's fastest call, summed), and the fp32 step is measured three times.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GPTC_BUILD_DIR:-$ROOT/build}"
GPTC="$BUILD/tools/gptc"
[ -x "$GPTC" ] || bash "$ROOT/scripts/setup.sh"
TORCH=0 RECIPE=0
for a in "$@"; do
  case "$a" in
    --torch) TORCH=1 ;;
    --recipe) RECIPE=1 ;;
    *) echo "cpu_targets.sh: unknown flag '$a' (flags: --torch, --recipe)" >&2; exit 2 ;;
  esac
done

flags=$(grep -o 'amx[a-z_0-9]*\|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')
has() { [[ " $flags " == *" $1 "* ]]; }
model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "CPU: $model, $(nproc) cores; flags: ${flags:-no AVX512_BF16, no AMX}"
echo
echo "| target (command) | measured | target | |"
echo "| --- | --- | --- | --- |"

# One `gptc bench` line: "median MFU% (quiet step MFU%)".
mfu() {
  local out
  out=$("$GPTC" bench --compile-time=false "$@" 2>&1)
  local median quiet
  median=$(sed -n 's/.* = \([0-9.]*\)% of peak (MFU)$/\1/p' <<<"$out")
  quiet=$(sed -n 's/.*-> \([0-9.]*\)% of peak (MFU of the quiet step)$/\1/p' <<<"$out")
  echo "${median}% (quiet ${quiet}%)"
}
pass() { awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 >= t ? "met" : "not met") }'; }

runs=()
for i in 1 2 3; do runs+=("$(mfu --steps=60)"); done
best=$(printf '%s\n' "${runs[@]}" | sed 's/%.*//' | sort -n | tail -1)
echo "| fp32 MFU, shakespeare-cpu (\`gptc bench --steps=60\`, three runs) | ${runs[0]}, ${runs[1]}, ${runs[2]} | >= 75% | $(pass "$best" 75) in the best run |"
baby=$(mfu --config=baby --steps=5)
echo "| fp32 MFU, baby (\`gptc bench --config=baby --steps=5\`) | $baby | >= 85% | $(pass "${baby%%%*}" 85) |"

if has avx512_bf16 || has amx_bf16; then
  for preset in shakespeare-cpu baby; do
    steps=30; [ "$preset" = baby ] && steps=5
    line=$("$GPTC" bench --config="$preset" --precision-compare --steps="$steps" --compile-time=false 2>&1 |
      grep '^precision' || true)
    ratio=$(sed -n 's/.*-> bf16 is \([0-9.]*\)x the speed.*/\1/p' <<<"$line")
    quiet=$(sed -n 's/.*ms -> \([0-9.]*\)x | planned.*/\1/p' <<<"$line")
    echo "| bf16 / fp32 step, $preset (\`gptc bench --config=$preset --precision-compare --steps=$steps\`) | ${ratio}x (quiet steps ${quiet}x) | >= 1.0x | $(pass "$ratio" 1.0) |"
  done
else
  echo "| bf16 / fp32 step | not measurable: no AVX512_BF16 | >= 1.0x | |"
fi

if has amx_tile; then
  amx=$("$BUILD/bench/amx_gemm_bench" --benchmark_filter='^amx' 2>&1 |
    sed -n 's/.*of_amx_peak=\([0-9.]*\).*/\1/p' | sort -n | tr '\n' ' ')
  lo=$(awk '{print $1 * 100}' <<<"$amx")
  echo "| AMX GEMMs at baby's shapes, fraction of the measured AMX peak (\`build/bench/amx_gemm_bench\`) | $amx| >= 0.5 each | $(pass "$lo" 50) |"
  att=$("$BUILD/bench/attention_bench" --benchmark_filter='amx' 2>&1 |
    sed -n 's/^\(attention[a-z_]* [a-z0-9-]*\) .*of_amx_peak=\([0-9.]*\).*/\1 \2/p' | tr '\n' ';')
  echo "| AMX attention, fraction of the AMX peak (\`build/bench/attention_bench --benchmark_filter=amx\`) | $att | | |"
else
  echo "| AMX GEMMs and attention | not measurable: no amx_tile | >= 50% of the AMX peak | |"
fi

if [ "$TORCH" = 1 ]; then
  PRECISION=bf16 bash "$ROOT/scripts/bench_vs_torch.sh" | grep '^RESULT' | while read -r r; do
    preset=$(awk '{print $2}' <<<"$r")
    ratio=$(sed -n 's/.*gptc is \([0-9.]*\)x faster;.*/\1/p' <<<"$r")
    echo "| bf16 step vs PyTorch autocast at its fastest setting, $preset (\`PRECISION=bf16 bash scripts/bench_vs_torch.sh\`) | ${ratio}x | >= 2x on an AMX CPU | $(has amx_tile && pass "$ratio" 2 || echo "no AMX here") |"
  done
fi

if [ "$RECIPE" = 1 ]; then
  r=$(bash "$ROOT/scripts/precision_recipe.sh" | grep '^RESULT')
  d=$(sed -n 's/.*bf16 - fp32: \([-+0-9.]*\) (200 batches: \([-+0-9.]*\)).*/\1 \/ \2/p' <<<"$r")
  worst=$(tr -d '+-' <<<"$d" | tr '/' '\n' | sort -n | tail -1)
  echo "| recipe val loss bf16 - fp32, 20 / 200 batches (\`bash scripts/precision_recipe.sh\`) | $d | within 0.02 | $(awk -v w="$worst" 'BEGIN { print (w <= 0.02 ? "met" : "not met") }') |"
fi
