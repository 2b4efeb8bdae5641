#!/bin/sh
# npm packages the browser tests use, installed with the machine's npm into build/npm
# (not committed; build/ is ignored): axe-core, the accessibility rules the pages are
# checked against (tests/support/axe.py). Skipped when the pinned version is there already.
set -eu
cd "$(dirname "$0")/.."
AXE_VERSION=4.14.1
prefix=build/npm
installed=$(node -p "require('./$prefix/node_modules/axe-core/package.json').version" 2>/dev/null || true)
[ "$installed" = "$AXE_VERSION" ] && exit 0
if ! command -v npm >/dev/null; then
  echo "npm is missing (apt install npm); the accessibility tests fail in CI without axe-core." >&2
  exit 0
fi
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "axe-core@$AXE_VERSION"
