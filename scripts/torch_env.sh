# Sourced by the scripts that compare with PyTorch: the gptc binary (built if missing) and
# Debian's python3-torch (installed if missing, as root or through sudo).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GPTC="${GPTC_BUILD_DIR:-$ROOT/build}/tools/gptc"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
[ -x "$GPTC" ] || bash "$ROOT/scripts/setup.sh"
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "installing python3-torch (Debian's PyTorch; a few minutes)"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
