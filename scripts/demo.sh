#!/usr/bin/env bash
# One command: install what is missing, build in Release, run the demo.
# Extra arguments go to cachebus-demo (try --help). Builds only the library
# and cachebus-demo (and cachebus-node for --cluster), not the tests:
# scripts/test.sh builds the rest in the same build/ directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
targets=(--target cachebus-demo)
for a in "$@"; do
  [[ "$a" == --cluster* ]] && targets+=(--target cachebus-node)
done
"$root/scripts/build.sh" "$root/build" "${targets[@]}" -DCMAKE_BUILD_TYPE=Release
exec "$root/build/apps/cachebus-demo/cachebus-demo" "$@"
