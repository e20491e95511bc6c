#!/usr/bin/env bash
# Measures every fusion pattern fused vs unfused at the shakespeare-cpu and baby shapes and the
# whole train step with fusion on and off (gptc bench --fusion), then plots it:
#   out/fusion.json (Google Benchmark format), out/fusion.png, and the table on the terminal.
#   bash scripts/bench_fusion.sh [extra gptc bench flags, e.g. --configs=shakespeare-cpu]
# Installs python3-matplotlib (for the chart) if missing (root or sudo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
OUT="${GPTC_OUT_DIR:-$ROOT/out}"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

[ -x "$GPTC" ] || bash "$ROOT/scripts/setup.sh"
mkdir -p "$OUT"
"$GPTC" bench --fusion --json="$OUT/fusion.json" "$@"
if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  echo "installing python3-matplotlib (Debian) for the chart"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null
fi
/usr/bin/python3 "$ROOT/scripts/plot_fusion.py" "$OUT/fusion.json" "$OUT/fusion.png"
