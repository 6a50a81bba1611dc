#!/usr/bin/env bash
# Installs what cachebus needs from Debian bookworm's archive, if missing.
# Idempotent; asks apt only when a package is absent. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config clang-format
  libcaf-dev catch2
  libsqlite3-dev libpq-dev postgresql
  libssl-dev openssl
  libabsl-dev
  curl
  libcpp-httplib-dev redis-server libhiredis-dev
  libtbb-dev libcuckoo-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The postgresql package starts a system cluster; cachebus never uses it
  # (tests start throwaway clusters on free loopback ports).
fi
