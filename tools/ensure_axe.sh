#!/usr/bin/env bash
# Make sure axe-core (the accessibility engine, npm registry) is installed under build/npm, at the exact
# version requirements/package.json names: tests/system/test_static_html.py injects it into every page of
# the site in headless Chromium and fails on serious or critical violations. Needs npm and the npm registry,
# so `make test` runs it BEFORE the offline test run (like tools/ensure_chromium.sh).
# Prints the path of axe.min.js; exit status 0 when it is installed, 1 otherwise.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/build/npm"
AXE="$DEST/node_modules/axe-core/axe.min.js"
WANT=$(sed -n 's/.*"axe-core": *"\([^"]*\)".*/\1/p' "$ROOT/requirements/package.json")
installed() {
  [ -f "$AXE" ] && grep -q "\"version\": *\"$WANT\"" "$DEST/node_modules/axe-core/package.json" 2>/dev/null
}
if installed; then echo "$AXE"; exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure_axe: npm is missing (Debian: apt-get install npm); the accessibility audit will be skipped" >&2
  exit 1
fi
mkdir -p "$DEST"
cp "$ROOT/requirements/package.json" "$DEST/package.json"
if ! (cd "$DEST" && npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
  echo "ensure_axe: npm install axe-core@$WANT failed (offline? no npm registry?)" >&2
  exit 1
fi
if installed; then echo "$AXE"; exit 0; fi
echo "ensure_axe: axe-core $WANT did not install" >&2
exit 1
