#!/usr/bin/env bash
# Installs the Debian 12 packages Meridian's build, tests and benchmarks need.
# Idempotent: packages already present are skipped, and apt is not touched at all
# when nothing is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang-format
  # core
  qt6-base-dev libsqlite3-dev sqlite3 libnats-dev libmaxminddb-dev libssl-dev
  # ui
  qt6-charts-dev libqt6opengl6-dev qt6-svg-dev qtkeychain-qt6-dev libgl-dev
  # tests, screenshots, benchmarks
  xvfb xauth libbenchmark-dev nats-server nginx-light haproxy wrk hyperfine curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts nginx and haproxy as services on install; the benchmarks run their own.
for svc in nginx haproxy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
