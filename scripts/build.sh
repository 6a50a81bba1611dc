#!/usr/bin/env bash
# Configures and builds cachebus.
#   scripts/build.sh BUILD_DIR [--target NAME]... [cmake args]
# Without --target everything is built (the library, the apps, the tests);
# with it, only those targets and what they need.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$1"
shift
targets=()
cmake_args=()
while (($#)); do
  if [[ "$1" == --target ]]; then
    targets+=(--target "$2")
    shift 2
  else
    cmake_args+=("$1")
    shift
  fi
done
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout, so that another clone (CI's) hits the
  # same cache entries.
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
fi
cmake -S "$root" -B "$dir" "${launcher[@]}" "${cmake_args[@]}" >/dev/null
# Two jobs: CAF headers are heavy and the machines have 2 cores.
cmake --build "$dir" -j"${CACHEBUS_JOBS:-2}" "${targets[@]}"
