#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds the consumer project
# against it with find_package(cachebus), and runs it.
set -euo pipefail
build_dir="$1"
src_dir="$(cd "$(dirname "$0")" && pwd)/consumer"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src_dir" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/build" -j2 >/dev/null
out="$("$tmp/build/consumer")"
echo "$out"
grep -q 'hit: {"name":"Ada"}' <<<"$out"
grep -q 'cachebus: invalid_key: key is empty' <<<"$out"
