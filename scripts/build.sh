#!/usr/bin/env bash
# Configures and builds cachebus. Usage: scripts/build.sh BUILD_DIR [cmake args]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$1"
shift
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout, so that another clone (CI's) hits the
  # same cache entries.
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
fi
cmake -S "$root" -B "$dir" "${launcher[@]}" "$@" >/dev/null
# Two jobs: CAF headers are heavy and the machines have 2 cores.
cmake --build "$dir" -j"${CACHEBUS_JOBS:-2}"
