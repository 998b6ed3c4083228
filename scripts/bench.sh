#!/usr/bin/env bash
# `make bench`: every benchmark, one Markdown report (bench/results/latest.md).
# A real Elasticsearch node (scripts/es-node.sh) is started first when INGEST_ES_URL is not set, so the
# Elasticsearch rows are measured too; likewise OpenSearch (scripts/opensearch-node.sh) when INGEST_OS_URL is
# not set. INGEST_SKIP_ES=1 measures the embedded store alone, INGEST_SKIP_OS=1 skips OpenSearch.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started_es=0
if [ -z "${INGEST_ES_URL:-}" ] && [ -z "${INGEST_SKIP_ES:-}" ]; then
  if bash scripts/es-node.sh up; then
    started_es=1
    export INGEST_ES_URL="http://127.0.0.1:${ES_PORT:-9200}"
  else
    echo "bench: no Elasticsearch node; measuring the embedded store only" >&2
  fi
fi
started_os=0
if [ -z "${INGEST_OS_URL:-}" ] && [ -z "${INGEST_SKIP_ES:-}" ] && [ -z "${INGEST_SKIP_OS:-}" ]; then
  if bash scripts/opensearch-node.sh up; then
    started_os=1
    export INGEST_OS_URL="http://127.0.0.1:${OS_PORT:-9201}"
  else
    echo "bench: no OpenSearch node; its rows are left out" >&2
  fi
fi
$BIN/python bench/run_all.py "$@"
rc=$?
if [ "$started_es" = 1 ] && [ -z "${INGEST_KEEP_ES:-}" ]; then bash scripts/es-node.sh down || true; fi
if [ "$started_os" = 1 ] && [ -z "${INGEST_KEEP_ES:-}" ]; then bash scripts/opensearch-node.sh down || true; fi
exit $rc
