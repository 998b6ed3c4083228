#!/usr/bin/env bash
# A real single-node Elasticsearch on 127.0.0.1 for tests and local use.
#
#   scripts/es-node.sh up       fetch (once, cached), start in the background, wait until healthy, print the URL
#   scripts/es-node.sh down     stop the node started from this checkout (SIGTERM, then SIGKILL after a timeout)
#   scripts/es-node.sh status   whether it runs and is healthy (exit 0 only when healthy)
#   scripts/es-node.sh url      print its URL
#
# The distribution is Elasticsearch's own integration-test zip from Maven Central,
# org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip, fetched with Maven (`mvn`).
# Maven Central's maven-metadata.xml for that artifact stops at 8.19.x, but the 9.x zips are there when asked
# for by version: 9.5.4 was the newest served when this was written (9.5.5, 9.5.6 and 9.6.0 were not).
# This zip is minimal: its only modules are transport-netty4, apm, x-pack-core and x-pack-security, so there
# is no percolator, no analysis-common (language analyzers such as `german`), no painless, no ILM, no
# data streams. Core features work: index templates, aliases, rollover, intervals queries.
# It has no bundled JDK: 9.x needs Java 21+ (a Temurin JDK under /usr/lib/jvm), 8.x Java 17+.
# Elasticsearch refuses to run as root: as root the node runs as the system user `ingest-es` (created if
# missing) and the distribution is unpacked where that user can read it (/var/cache/ingest-es).
# Fetching, the JDK choice, the pid file, the health wait and the commands are shared with
# scripts/opensearch-node.sh in scripts/lib/search-node.sh; this file holds what is Elasticsearch's own.
#
# Environment (all optional):
#   ES_VERSION      distribution version (default below)       ES_PORT        HTTP port (9200)
#   ES_JAVA_OPTS    JVM options (-Xms512m -Xmx512m)             ES_JAVA_HOME   JDK to run it with
#   INGEST_CACHE    download cache root (~/.cache/ingest)       ES_DIST_DIR    where the zip is unpacked
#   ES_HOME_DIR     per-node dirs root (<checkout>/.es)         ES_USER        user to run as when root
#   ES_WAIT         seconds to wait for health on `up` (180)    ES_STOP_WAIT   seconds before SIGKILL (60)
#   ES_FRESH=1      start with empty data (data otherwise survives down/up of the same version)
#   ES_ZIP_SHA256   the zip's SHA-256, for a version not listed below
set -euo pipefail

# shellcheck source=scripts/lib/search-node.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/search-node.sh"
node_env ES 9.5.4 9200 ingest-es es
TAG=es-node PRODUCT=Elasticsearch
ZIP="$CACHE/elasticsearch-$VERSION.zip"
ARTIFACTS=("$ZIP")
ROOT_DIST_ROOT=/var/cache/ingest-es
JAVA_MIN=21 JAVA_MAX=999 JAVA_PREFER=lowest
[ "${VERSION%%.*}" -le 8 ] && JAVA_MIN=17
BIN=elasticsearch MAIN_CLASS=org.elasticsearch CONF_FILE=elasticsearch.yml KEYSTORE=elasticsearch.keystore
PID_NAME=es.pid

# SHA-256 of zips fetched and checked when this was written. Maven Central has no .sha1/.asc for the 9.x
# zips (Maven's own checksum check cannot apply), so the download is checked against these; for a version not
# listed, give ES_ZIP_SHA256 or accept the warning.
known_sha256() {
  case "$VERSION" in
    9.5.4) echo d9b0c28e08e499f6510b52ad66ec4bf9cdceab97cc28b3456989b8744b896934 ;;
    8.19.21) echo 215d5f3dbf0609a149f6218a9e47b6ae2df34ebbff3c5754e35f15a5e5393c8a ;;
  esac
}

engine_fetch() {
  fetch_one "org.elasticsearch.distribution.integ-test-zip:elasticsearch:$VERSION:zip" "$ZIP" \
    "${ES_ZIP_SHA256:-$(known_sha256)}" ES_ZIP_SHA256
}

engine_unpacked() { [ -x "$DIST/bin/elasticsearch" ]; }
engine_after_unpack() { :; }
engine_config() { :; }

engine_settings() {
  if [ -d "$DIST/modules/x-pack-security" ]; then
    echo "xpack.security.enabled: false"
    echo "xpack.security.http.ssl.enabled: false"
    echo "xpack.security.transport.ssl.enabled: false"
  fi
  [ -d "$DIST/modules/x-pack-ml" ] && echo "xpack.ml.enabled: false"
  [ -d "$DIST/modules/ingest-geoip" ] && echo "ingest.geoip.downloader.enabled: false"
  true
}

engine_launch() {  # $1: the JDK
  as_node_user env HOME="$RUN_DIR" ES_JAVA_HOME="$1" ES_PATH_CONF="$RUN_DIR/config" \
    ES_TMPDIR="$RUN_DIR/tmp" ES_JAVA_OPTS="$NODE_JAVA_OPTS" "$DIST/bin/elasticsearch" -d -p "$PIDFILE"
}

version_number() {  # `GET /` needs the rest-root module, absent from the integ-test zip: use _nodes instead
  curl -sf --max-time 5 "$URL/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null \
    | grep -o '"version":"[^"]*"' | head -1 | cut -d'"' -f4 || true
}

engine_remote_version() { local v; v="$(version_number)"; echo "Elasticsearch ${v:-?}"; }

engine_existing() {
  local v; v="$(version_number)"
  log "a node is already healthy at $URL (Elasticsearch ${v:-?})"
  [ -n "$v" ] && [ "$v" != "$VERSION" ] && log "note: it is $v, not $VERSION; \`$0 down\` then \`up\` to switch"
  true
}

engine_java_hint() { echo "Elasticsearch $VERSION needs Java $JAVA_MIN+; none under /usr/lib/jvm (set ES_JAVA_HOME)"; }

node_main "$@"
