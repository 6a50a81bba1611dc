#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and compiles every installed
# header on its own against it: a public header that includes a private
# (uninstalled) one, or that misses an include it needs, fails here.
# Usage: check_headers.sh BUILD_DIR
set -euo pipefail
build_dir="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
cxx="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")"
cd "$tmp/prefix/include"
mapfile -t headers < <(find cachebus -name '*.hpp' | sort)
if ((${#headers[@]} == 0)); then
  echo "no header was installed" >&2
  exit 1
fi
check() {
  local h="$1" tu
  tu="$tmp/tu_$(tr '/.' '__' <<<"$h").cpp"
  printf '#include <%s>\n' "$h" >"$tu"
  if ! "$cxx" -std=c++20 -fsyntax-only -I "$tmp/prefix/include" "$tu" \
    2>"$tu.err"; then
    echo "installed header $h does not compile on its own:" >&2
    head -5 "$tu.err" >&2
    return 1
  fi
}
export -f check
export tmp cxx
printf '%s\n' "${headers[@]}" | xargs -P 2 -I{} bash -c 'check "$@"' _ {}
echo "${#headers[@]} installed headers compile on their own"
