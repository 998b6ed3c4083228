#!/usr/bin/env bash
# A real single-node OpenSearch with the percolator module on 127.0.0.1, for tests and local use.
# The OpenSearch counterpart of scripts/es-node.sh: the same commands, cache and user handling, from the
# same shared body (scripts/lib/search-node.sh); this file holds what is OpenSearch's own.
#
#   scripts/opensearch-node.sh up       fetch (once, cached), start in the background, wait until healthy, print the URL
#   scripts/opensearch-node.sh down     stop the node started from this checkout (SIGTERM, then SIGKILL after a timeout)
#   scripts/opensearch-node.sh status   whether it runs and is healthy (exit 0 only when healthy)
#   scripts/opensearch-node.sh url      print its URL
#
# The distribution is OpenSearch's integration-test zip from Maven Central,
# org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip, plus the percolator module,
# org.opensearch.plugin:percolator-client:$OS_VERSION (a jar), both fetched with Maven (`mvn`). The zip's
# only module is transport-netty4; the jar is the percolator module's code without its descriptor, so the
# script places it in modules/percolator/ with a plugin-descriptor.properties written here (the same
# fields the distribution's own modules carry). The module needs nothing else: lucene-memory is in lib/.
# No analysis-common (language analyzers), no painless, no ISM, no security plugin.
# It has no bundled JDK: 2.x needs Java 11 to 23. Java 24 and newer removed the Security Manager that
# OpenSearch 2.x installs at start, so a JDK in that range is picked from /usr/lib/jvm (OS_JAVA_HOME overrides).
# OpenSearch refuses to run as root: as root the node runs as the system user `ingest-os` (created if
# missing) and the distribution is unpacked where that user can read it (/var/cache/ingest-opensearch).
# The default port, 9201, lets it run beside the Elasticsearch node of scripts/es-node.sh on 9200.
#
# Environment (all optional):
#   OS_VERSION      distribution version (default below)       OS_PORT        HTTP port (9201)
#   OS_JAVA_OPTS    JVM options (-Xms512m -Xmx512m)             OS_JAVA_HOME   JDK to run it with
#   INGEST_CACHE    download cache root (~/.cache/ingest)       OS_DIST_DIR    where the zip is unpacked
#   OS_HOME_DIR     per-node dirs root (<checkout>/.opensearch) OS_USER        user to run as when root
#   OS_WAIT         seconds to wait for health on `up` (180)    OS_STOP_WAIT   seconds before SIGKILL (60)
#   OS_FRESH=1      start with empty data (data otherwise survives down/up of the same version)
#   OS_ZIP_SHA256 / OS_JAR_SHA256   checksums for a version not listed below
set -euo pipefail

# shellcheck source=scripts/lib/search-node.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/search-node.sh"
node_env OS 2.19.6 9201 ingest-os opensearch
TAG=opensearch-node PRODUCT=OpenSearch
ZIP="$CACHE/opensearch-$VERSION.zip"
JAR="$CACHE/percolator-client-$VERSION.jar"
ARTIFACTS=("$ZIP" "$JAR")
ROOT_DIST_ROOT=/var/cache/ingest-opensearch
JAVA_MIN=11 JAVA_MAX=23 JAVA_PREFER=newest
BIN=opensearch MAIN_CLASS=org.opensearch CONF_FILE=opensearch.yml KEYSTORE=opensearch.keystore
PID_NAME=opensearch.pid START_LOG_SKIP='^WARNING'

# SHA-256 of the artifacts fetched and checked when this was written; for other versions Maven Central's
# .sha1 beside each artifact is checked instead (OS_ZIP_SHA256 / OS_JAR_SHA256 override).
known_sha256() {  # $1: zip|jar
  case "$VERSION:$1" in
    2.19.6:zip) echo 71d6d8b1c637f3faecda0752b184b1cc526fc6eaad59ec1408c6327bb00b9293 ;;
    2.19.6:jar) echo 3a931b2089e8d6140f8b811ea8a5cbfb0cd1d2202a070c25568a7249875cd787 ;;
  esac
}

engine_fetch() {
  fetch_one "org.opensearch.distribution.integ-test-zip:opensearch:$VERSION:zip" "$ZIP" \
    "${OS_ZIP_SHA256:-$(known_sha256 zip)}" OS_ZIP_SHA256
  fetch_one "org.opensearch.plugin:percolator-client:$VERSION" "$JAR" \
    "${OS_JAR_SHA256:-$(known_sha256 jar)}" OS_JAR_SHA256
}

engine_unpacked() { [ -x "$DIST/bin/opensearch" ] && [ -f "$DIST/modules/percolator/plugin-descriptor.properties" ]; }

engine_after_unpack() {  # $1: the unpacked distribution: add the percolator module
  local dir="$1/modules/percolator"
  mkdir -p "$dir"
  cp "$JAR" "$dir/"
  # The fields every module of the distribution declares (see modules/transport-netty4); the class is
  # the one the jar holds, checked so that a renamed class fails here and not at node start.
  local class=org.opensearch.percolator.PercolatorPlugin
  unzip -l "$JAR" 2>/dev/null | grep -q "${class//.//}.class" \
    || python3 -c 'import sys, zipfile; sys.exit(sys.argv[2] not in zipfile.ZipFile(sys.argv[1]).namelist())' \
         "$JAR" "${class//.//}.class" \
    || die "$JAR has no $class"
  cat >"$dir/plugin-descriptor.properties" <<DESCRIPTOR
# Written by scripts/opensearch-node.sh: the percolator-client jar ships without its descriptor.
description=Percolator module adds capability to index queries and query these queries by specifying documents
version=$VERSION
name=percolator
classname=$class
java.version=11
opensearch.version=$VERSION
custom.foldername=
extended.plugins=
has.native.controller=false
DESCRIPTOR
}

engine_config() {  # $1: the node's config dir
  # jvm.options names gc.log, heap dumps and crash files relative to the distribution, which the node's
  # user cannot write (and several nodes would share): point them into this node's directories.
  sed -i -e "s#file=logs/gc.log#file=$RUN_DIR/logs/gc.log#" -e "s#HeapDumpPath=data#HeapDumpPath=$RUN_DIR/data#" \
      -e "s#ErrorFile=logs/#ErrorFile=$RUN_DIR/logs/#" "$1/jvm.options"
}

engine_settings() {
  [ -d "$DIST/plugins/opensearch-security" ] && echo "plugins.security.disabled: true"
  true
}

engine_launch() {  # $1: the JDK
  as_node_user env HOME="$RUN_DIR" OPENSEARCH_JAVA_HOME="$1" JAVA_HOME="$1" \
    OPENSEARCH_PATH_CONF="$RUN_DIR/config" OPENSEARCH_TMPDIR="$RUN_DIR/tmp" OPENSEARCH_JAVA_OPTS="$NODE_JAVA_OPTS" \
    "$DIST/bin/opensearch" -d -p "$PIDFILE"
}

engine_remote_version() {  # "opensearch 2.19.6" (or "elasticsearch-or-other 9.5.4" for a node that is not OpenSearch)
  local info; info="$(curl -sf --max-time 5 "$URL/" 2>/dev/null || true)"
  local dist; dist="$(echo "$info" | grep -o '"distribution" *: *"[^"]*"' | cut -d'"' -f4)"
  local num; num="$(echo "$info" | grep -o '"number" *: *"[^"]*"' | head -1 | cut -d'"' -f4)"
  [ -n "$num" ] && echo "${dist:-not-opensearch} $num" || true
}

engine_existing() {
  local v; v="$(engine_remote_version)"
  case "$v" in
    opensearch\ *) log "a node is already healthy at $URL (OpenSearch ${v#* })"
                   [ "${v#* }" != "$VERSION" ] && log "note: it is ${v#* }, not $VERSION; \`$0 down\` then \`up\` to switch"
                   true ;;
    *) die "port $PORT answers as ${v:-something else}, not OpenSearch; set OS_PORT" ;;
  esac
}

engine_java_hint() {
  echo "OpenSearch $VERSION needs Java $JAVA_MIN to $JAVA_MAX (newer ones lack the Security Manager it uses); none under /usr/lib/jvm (apt-get install openjdk-17-jdk-headless, or set OS_JAVA_HOME)"
}

node_main "$@"
