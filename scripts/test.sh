#!/usr/bin/env bash
# The full test suite: a real Elasticsearch node (scripts/es-node.sh), a real OpenSearch node with the
# percolator module (scripts/opensearch-node.sh) and Debian's chromium (scripts/install-browser.sh) are set
# up first when possible. In CI all three are required. The two nodes start side by side (9200 and 9201).
# INGEST_SKIP_ES=1 skips both clusters, INGEST_SKIP_OS=1 OpenSearch only; INGEST_KEEP_ES=1 leaves them running.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started_es=0 started_os=0 os_pid=""
if [ -z "${INGEST_SKIP_ES:-}" ] && [ -z "${INGEST_SKIP_OS:-}" ] && [ -f scripts/opensearch-node.sh ]; then
  bash scripts/opensearch-node.sh up >/dev/null &
  os_pid=$!
fi
if [ -z "${INGEST_SKIP_ES:-}" ] && [ -f scripts/es-node.sh ]; then
  if bash scripts/es-node.sh up; then
    started_es=1
    export INGEST_ES_URL="${INGEST_ES_URL:-http://127.0.0.1:${ES_PORT:-9200}}"
  elif [ "${CI:-}" = "true" ]; then
    echo "error: could not start Elasticsearch for the integration tests" >&2; exit 1
  fi
fi
if [ -n "$os_pid" ]; then
  if wait "$os_pid"; then
    started_os=1
    export INGEST_OS_URL="${INGEST_OS_URL:-http://127.0.0.1:${OS_PORT:-9201}}"
  elif [ "${CI:-}" = "true" ]; then
    echo "error: could not start OpenSearch for the integration tests" >&2; exit 1
  fi
fi
if [ -z "${INGEST_SKIP_BROWSER:-}" ] && [ -f scripts/install-browser.sh ]; then
  bash scripts/install-browser.sh || { [ "${CI:-}" = "true" ] && { echo "error: chromium not installable" >&2; exit 1; }; }
fi
$BIN/python -m pytest -q -ra "$@"
rc=$?
if [ -z "${INGEST_KEEP_ES:-}" ]; then
  [ "$started_es" = 1 ] && { bash scripts/es-node.sh down || true; }
  [ "$started_os" = 1 ] && { bash scripts/opensearch-node.sh down || true; }
fi
# pytest exit 5 = no tests collected: treat as failure so CI never passes silently.
exit $rc
