#!/usr/bin/env bash
# The full test suite. Says up front what it sets up and what it will skip:
#   - a real Elasticsearch node (scripts/es-node.sh: the 9.5.4 integ-test zip from Maven Central via `mvn`,
#     run with a JDK 21+ from /usr/lib/jvm; cached under ~/.cache/ingest after the first download);
#   - a headless browser (scripts/install-browser.sh: Debian's chromium-headless-shell via apt-get,
#     --no-install-recommends, only when no chromium is installed).
# Outside CI a part that cannot be set up is skipped with a loud line; in CI (CI=true) it is an error.
# INGEST_SKIP_ES=1 / INGEST_SKIP_BROWSER=1 skip a part on purpose.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${INGEST_PYTHON:-.venv/bin/python}"  # the venv make created; tests may point elsewhere
started_es=0
skipped=()
echo "make test: unit and loopback tests on SQLite, plus Elasticsearch and browser tests (set up below)"
if [ -n "${INGEST_SKIP_ES:-}" ]; then
  skipped+=("Elasticsearch tests (INGEST_SKIP_ES set)")
elif bash scripts/es-node.sh up; then
  started_es=1
  export INGEST_ES_URL="${INGEST_ES_URL:-http://127.0.0.1:${ES_PORT:-9200}}"
elif [ "${CI:-}" = "true" ]; then
  echo "error: could not start Elasticsearch for the integration tests (needs mvn and a JDK 21+)" >&2; exit 1
else
  skipped+=("Elasticsearch tests (no node could be started: needs mvn and a JDK 21+; see README → Tests)")
  export INGEST_SKIP_ES=1
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
if [ "$started_es" = 1 ] && [ -z "${INGEST_KEEP_ES:-}" ]; then bash scripts/es-node.sh down || true; fi
for s in "${skipped[@]+"${skipped[@]}"}"; do echo "SKIPPED: $s" >&2; done
# pytest exit 5 = no tests collected: a failure too, so CI never passes silently.
exit $rc
