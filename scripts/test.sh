#!/usr/bin/env bash
# The full test suite. Says up front what it sets up and what it will skip:
#   - a real Elasticsearch node (scripts/es-node.sh: the 9.5.4 integ-test zip from Maven Central via `mvn`,
#     run with a JDK 21+ from /usr/lib/jvm; cached under ~/.cache/ingest after the first download);
#   - a real OpenSearch node with the percolator module (scripts/opensearch-node.sh: 2.19.6 from Maven
#     Central, a JDK 11-23), started beside Elasticsearch (ports 9200 and 9201);
#   - a headless browser (scripts/install-browser.sh: Debian's chromium-headless-shell via apt-get,
#     --no-install-recommends, only when no chromium is installed).
# Outside CI a part that cannot be set up is skipped with a loud line; in CI (CI=true) it is an error.
# INGEST_SKIP_ES=1 skips both clusters, INGEST_SKIP_OS=1 OpenSearch only, INGEST_SKIP_BROWSER=1 the browser;
# INGEST_KEEP_ES=1 leaves the nodes running.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${INGEST_PYTHON:-.venv/bin/python}"  # the venv make created; tests may point elsewhere
started_es=0 started_os=0 os_pid=""
skipped=()
echo "make test: unit and loopback tests on SQLite, plus Elasticsearch, OpenSearch and browser tests (set up below)"
if [ -z "${INGEST_SKIP_ES:-}" ] && [ -z "${INGEST_SKIP_OS:-}" ]; then
  bash scripts/opensearch-node.sh up >/dev/null &
  os_pid=$!
fi
if [ -n "${INGEST_SKIP_ES:-}" ]; then
  skipped+=("Elasticsearch and OpenSearch tests (INGEST_SKIP_ES set)")
elif bash scripts/es-node.sh up; then
  started_es=1
  export INGEST_ES_URL="${INGEST_ES_URL:-http://127.0.0.1:${ES_PORT:-9200}}"
elif [ "${CI:-}" = "true" ]; then
  echo "error: could not start Elasticsearch for the integration tests (needs mvn and a JDK 21+)" >&2; exit 1
else
  skipped+=("Elasticsearch tests (no node could be started: needs mvn and a JDK 21+; see README → Development)")
  export INGEST_SKIP_ES=1
fi
if [ -n "$os_pid" ]; then
  if wait "$os_pid"; then
    started_os=1
    export INGEST_OS_URL="${INGEST_OS_URL:-http://127.0.0.1:${OS_PORT:-9201}}"
  elif [ "${CI:-}" = "true" ]; then
    echo "error: could not start OpenSearch for the integration tests (needs mvn and a JDK 11-23)" >&2; exit 1
  else
    skipped+=("OpenSearch tests (no node could be started: needs mvn and a JDK 11-23)")
  fi
elif [ -n "${INGEST_SKIP_OS:-}" ]; then
  skipped+=("OpenSearch tests (INGEST_SKIP_OS set)")
fi
if [ -n "${INGEST_SKIP_BROWSER:-}" ]; then
  skipped+=("browser tests (INGEST_SKIP_BROWSER set)")
elif ! bash scripts/install-browser.sh; then
  if [ "${CI:-}" = "true" ]; then echo "error: no browser for the web tests (apt-get failed)" >&2; exit 1; fi
  skipped+=("browser tests (chromium-headless-shell not installable: needs root/sudo and apt)")
fi
for s in "${skipped[@]+"${skipped[@]}"}"; do echo "SKIPPING: $s" >&2; done
"$PYTHON" -m pytest -q -ra "$@"
rc=$?
if [ -z "${INGEST_KEEP_ES:-}" ]; then
  [ "$started_es" = 1 ] && { bash scripts/es-node.sh down || true; }
  [ "$started_os" = 1 ] && { bash scripts/opensearch-node.sh down || true; }
fi
for s in "${skipped[@]+"${skipped[@]}"}"; do echo "SKIPPED: $s" >&2; done
# pytest exit 5 = no tests collected: a failure too, so CI never passes silently.
exit $rc
