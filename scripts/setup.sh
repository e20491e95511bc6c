#!/usr/bin/env bash
# Sets gptc up on Debian 12: installs the packages that are missing (apt-get, as root or
# through sudo), puts the training text in data/, then configures and builds into build/.
# Safe to run any number of times: each step is skipped when already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${GPTC_BUILD_DIR:-$ROOT/build}"
DATA_URL="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
DATA_BYTES=1115394

# Build tools, the libraries gptc is built on and Open MPI for data parallelism (see README,
# "Dependencies").
PACKAGES=(cmake ninja-build g++ ccache llvm-14-dev libhalide14-0-dev libboost-graph-dev
          libabsl-dev nlohmann-json3-dev libpcre2-dev libgtest-dev libbenchmark-dev libopenmpi-dev
          openmpi-bin)

log() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else log "need root to run: $*"; exit 1; fi
}

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

fetch_data() {
  local dest="$ROOT/data/tinyshakespeare.txt"
  local shared="$ROOT/../shared/data/tinyshakespeare.txt"
  mkdir -p "$ROOT/data"
  if [ -s "$dest" ]; then return 0; fi
  if [ -s "$shared" ]; then
    log "using $shared"
    cp "$shared" "$dest.tmp" && mv "$dest.tmp" "$dest"
    return 0
  fi
  log "downloading Tiny Shakespeare from $DATA_URL"
  install_packages curl ca-certificates
  curl -fsSL "$DATA_URL" -o "$dest.tmp"
  local size
  size=$(stat -c %s "$dest.tmp")
  if [ "$size" -ne "$DATA_BYTES" ]; then
    rm -f "$dest.tmp"
    log "downloaded file has $size bytes, expected $DATA_BYTES; not using it"
    exit 1
  fi
  mv "$dest.tmp" "$dest"  # only a complete file ever carries the final name
}

# GPT-2's vocabulary (encoder.json, vocab.bpe; MIT licence) for `--tokenizer=gpt2`, into
# data/gpt2: copied from ../shared/data/gpt2 when present, else downloaded from OpenAI's public
# bucket; each file is checked by size and only a complete one gets its final name.
GPT2_URL="https://openaipublic.blob.core.windows.net/gpt-2/models/124M"
fetch_gpt2() {
  local dest="$ROOT/data/gpt2"
  mkdir -p "$dest"
  local name bytes
  for entry in encoder.json:1042301 vocab.bpe:456318; do
    name=${entry%%:*}
    bytes=${entry##*:}
    [ -s "$dest/$name" ] && continue
    if [ -s "$ROOT/../shared/data/gpt2/$name" ]; then
      cp "$ROOT/../shared/data/gpt2/$name" "$dest/$name.tmp"
    else
      log "downloading GPT-2's $name from $GPT2_URL"
      install_packages curl ca-certificates
      curl -fsSL "$GPT2_URL/$name" -o "$dest/$name.tmp" ||
        { log "could not download $name: --tokenizer=gpt2 will not work until it is there"; rm -f "$dest/$name.tmp"; continue; }
    fi
    if [ "$(stat -c %s "$dest/$name.tmp")" -ne "$bytes" ]; then
      rm -f "$dest/$name.tmp"
      log "GPT-2's $name does not have $bytes bytes; not using it"
      continue
    fi
    chmod u+w "$dest/$name.tmp"
    mv "$dest/$name.tmp" "$dest/$name"
  done
}

build() {
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$BUILD_DIR" -- -j"$(nproc)"
}

install_packages "${PACKAGES[@]}"
fetch_data
fetch_gpt2
build
log "built into $BUILD_DIR"
