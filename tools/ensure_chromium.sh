#!/usr/bin/env bash
# Make sure a headless-capable Chromium is installed: tests/system/test_bertviz_offline.py renders the offline
# BertViz views in it. Installs Debian's `chromium` with apt when missing (needs root or passwordless
# sudo, and network access to the Debian mirror) -- so run it BEFORE the offline test run (make test).
# Prints the browser's path; exit status 0 when a browser is available, 1 otherwise.
set -u
find_chromium() {
  for candidate in "${XAI_CHROMIUM:-}" chromium chromium-browser google-chrome; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && { command -v "$candidate"; return 0; }
  done
  return 1
}

if path=$(find_chromium); then
  echo "$path"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: no chromium found and no apt-get here; install Chromium or Chrome yourself and" \
       "point XAI_CHROMIUM at it." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "ensure_chromium: chromium is missing and installing it needs root: sudo apt-get install chromium" >&2
  exit 1
fi
echo "ensure_chromium: installing Debian's chromium (about 100 MB)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || true
fi
if path=$(find_chromium); then
  echo "$path"
  exit 0
fi
echo "ensure_chromium: could not install chromium (offline? no Debian mirror?)." >&2
exit 1
