#!/usr/bin/env bash
# The full test suite: a real Elasticsearch node (scripts/es-node.sh) and Debian's chromium
# (scripts/install-browser.sh) are set up first when possible. In CI both are required.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started_es=0
if [ -z "${INGEST_SKIP_ES:-}" ] && [ -f scripts/es-node.sh ]; then
  if bash scripts/es-node.sh up; then
    started_es=1
    export INGEST_ES_URL="${INGEST_ES_URL:-http://127.0.0.1:${ES_PORT:-9200}}"
  elif [ "${CI:-}" = "true" ]; then
    echo "error: could not start Elasticsearch for the integration tests" >&2; exit 1
  fi
fi
if [ -z "${INGEST_SKIP_BROWSER:-}" ] && [ -f scripts/install-browser.sh ]; then
  bash scripts/install-browser.sh || { [ "${CI:-}" = "true" ] && { echo "error: chromium not installable" >&2; exit 1; }; }
fi
$BIN/python -m pytest -q -ra "$@"
rc=$?
if [ "$started_es" = 1 ] && [ -z "${INGEST_KEEP_ES:-}" ]; then bash scripts/es-node.sh down || true; fi
# pytest exit 5 = no tests collected: treat as failure so CI never passes silently.
exit $rc
