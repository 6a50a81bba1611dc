#!/usr/bin/env bash
# One command: install what is missing, build, run every test.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UBSan build in build-asan/
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
if [[ "${1:-}" == "--sanitize" ]]; then
  dir="$root/build-asan"
  "$root/scripts/build.sh" "$dir" -DCMAKE_BUILD_TYPE=Debug \
    -DCACHEBUS_SANITIZE=ON -DCACHEBUS_BUILD_APPS=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  # Only leaks inside CAF's own middleman are suppressed; see the file.
  export LSAN_OPTIONS=suppressions="$root/tests/lsan.supp":print_suppressions=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir="$root/build"
  "$root/scripts/build.sh" "$dir" -DCMAKE_BUILD_TYPE=Release
fi
cd "$dir"
ctest --output-on-failure -j1 --timeout 600
