#!/usr/bin/env bash
# Install Debian's chromium for the end-to-end browser tests (tests/test_web_browser.py).
# Idempotent: does nothing when /usr/bin/chromium already exists. Never runs `playwright install`;
# the tests drive this system chromium through Playwright's Python package (executable_path).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: need root (or sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium
/usr/bin/chromium --version || true
