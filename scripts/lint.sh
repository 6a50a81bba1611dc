#!/usr/bin/env bash
# The checks CI runs before it builds; each failure names the file and says
# what to do.
#   1. Formatting: every C++ file is as .clang-format says
#      (fix: clang-format -i FILE).
#   2. Layering: stores/ and bus/ include no other cachebus layer, actors/
#      includes no app; nothing includes upward (docs/ARCHITECTURE.md: stores/ and bus/ <-
#      actors/ <- apps/).
#   3. Namespaces: every file of stores/ is in cachebus::stores, no file of
#      bus/ or actors/ is (README: the public API).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
status=0

mapfile -t sources < <(git ls-files '*.cpp' '*.hpp')
unformatted=()
for f in "${sources[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  echo "lint: ${#unformatted[@]} file(s) differ from .clang-format (run clang-format -i on them):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  status=1
fi

# layer -> the cachebus layers it may include besides itself
declare -A allowed=(
  [stores]=""
  [bus]=""
  [actors]="stores bus"
)
for layer in "${!allowed[@]}"; do
  while IFS= read -r hit; do
    file="${hit%%:*}"
    used="$(sed -E 's|.*#include "cachebus/([a-z_]+)/.*|\1|' <<<"$hit")"
    [[ "$used" == "$layer" ]] && continue
    [[ " ${allowed[$layer]} " == *" $used "* ]] && continue
    echo "lint: $file includes cachebus/$used/, a layer $layer/ may not use" >&2
    status=1
  done < <(git grep -n '#include "cachebus/' -- "$layer/" || true)
done

while IFS= read -r f; do
  if ! grep -q '^namespace cachebus::stores' "$f"; then
    echo "lint: $f is not in namespace cachebus::stores (every stores/ file is)" >&2
    status=1
  fi
done < <(git ls-files 'stores/*.cpp' 'stores/*.hpp')
while IFS= read -r hit; do
  echo "lint: ${hit%%:*} opens namespace cachebus::stores outside stores/" >&2
  status=1
done < <(git grep -n '^namespace cachebus::stores' -- bus/ actors/ || true)

if ((status == 0)); then
  echo "lint: ${#sources[@]} files formatted; layering holds"
fi
exit "$status"
