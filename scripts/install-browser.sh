#!/usr/bin/env bash
# Install a browser for the end-to-end browser tests (tests/test_web_browser.py): Debian's
# `chromium-headless-shell` (the headless build only, no desktop integration), without recommended
# packages, so nothing else on the machine is upgraded or pulled in. Idempotent: does nothing when
# /usr/bin/chromium-headless-shell or /usr/bin/chromium already exists (ingest.web.live picks either;
# INGEST_CHROMIUM=/path overrides). Never runs `playwright install`: the tests drive this system
# browser through Playwright's Python package (executable_path).
set -euo pipefail

for b in /usr/bin/chromium-headless-shell /usr/bin/chromium; do
  if [ -x "$b" ]; then
    echo "browser: $b already installed ($("$b" --version 2>/dev/null | head -1 || echo "$b"))"
    exit 0
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: need root (or sudo) to apt-get install chromium-headless-shell" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "browser: installing Debian's chromium-headless-shell with apt-get (--no-install-recommends)"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium-headless-shell
/usr/bin/chromium-headless-shell --version || true
