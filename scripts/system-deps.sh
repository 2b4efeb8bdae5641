#!/bin/sh
# Debian packages the tests use: Chromium (browser tests), Janus (SFU), coturn (TURN),
# iproute2 (network namespaces for media tests), npm (axe-core for the accessibility
# checks, scripts/js-deps.sh). Installed only when missing and root.
set -eu
missing=""
command -v chromium >/dev/null || missing="$missing chromium"
command -v janus >/dev/null || missing="$missing janus"
command -v turnserver >/dev/null || missing="$missing coturn"
command -v ip >/dev/null || missing="$missing iproute2"
command -v unshare >/dev/null || missing="$missing util-linux"
command -v npm >/dev/null || missing="$missing npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing:$missing. Install them (sudo apt install$missing); the tests that need them fail in CI." >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
