#!/usr/bin/env bash
# One command: install what is missing, build in Release, run the demo.
# Extra arguments go to cachebus-demo (try --help).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build" -DCMAKE_BUILD_TYPE=Release
exec "$root/build/apps/cachebus-demo/cachebus-demo" "$@"
