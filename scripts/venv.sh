#!/bin/sh
# Create the virtual environment; on a fresh Debian/Ubuntu, install python3-venv first.
set -eu
python=${1:-python3}
venv=${2:-.venv}
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Conclave needs Python 3.11 or newer")'
[ -x "$venv/bin/python" ] && exit 0
if ! "$python" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version-venv" || \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    "$python" -m venv "$venv"
  else
    echo "Cannot create a virtual environment: install python3-venv (sudo apt install python3-venv)" >&2
    exit 1
  fi
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
