#!/usr/bin/env bash
# A real single-node Elasticsearch on 127.0.0.1 for tests and local use.
#
#   scripts/es-node.sh up       download (once, cached), start, wait until healthy
#   scripts/es-node.sh down     stop it
#   scripts/es-node.sh status   say whether it runs and is healthy
#   scripts/es-node.sh url      print its URL
#
# The distribution is Elasticsearch's own integration-test zip from Maven Central
# (org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip), fetched with Maven.
# Maven Central carries it for 8.x only, so the node is 8.x and the Python client is pinned to 8.x.
# Elasticsearch refuses to run as root: the node runs as the system user `ingest-es`.
set -euo pipefail

ES_VERSION="${ES_VERSION:-8.19.21}"
ES_PORT="${ES_PORT:-9200}"
ES_HEAP="${ES_HEAP:-512m}"
CACHE="${INGEST_CACHE:-$HOME/.cache/ingest}/es"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN_DIR="${ES_HOME_DIR:-$ROOT/.es}/$ES_PORT"
# The unpacked distribution must be readable by the node's user, so not under root's home.
DIST_ROOT="${ES_DIST_DIR:-$([ "$(id -u)" -eq 0 ] && echo /var/cache/ingest-es || echo "$CACHE")}"
DIST="$DIST_ROOT/elasticsearch-$ES_VERSION"
ZIP="$CACHE/elasticsearch-$ES_VERSION.zip"
URL="http://127.0.0.1:$ES_PORT"
ES_USER="${ES_USER:-ingest-es}"

log() { echo "es-node: $*" >&2; }

find_java() {
  # 8.x runs on Java 17+; prefer the machine's OpenJDK 17, else any JDK under /usr/lib/jvm.
  for d in ${ES_JAVA_HOME:-} /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    [ -n "$d" ] && [ -x "$d/bin/java" ] && { echo "$d"; return 0; }
  done
  return 1
}

healthy() {
  curl -sf --max-time 5 "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1
}

fetch() {
  [ -f "$ZIP" ] && return 0
  mkdir -p "$CACHE"
  local coords="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
  local m2="$HOME/.m2/repository/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  log "fetching $coords from Maven Central"
  if command -v mvn >/dev/null 2>&1 && mvn -q -B dependency:get -Dartifact="$coords" -Dtransitive=false >&2 && [ -f "$m2" ]; then
    cp "$m2" "$ZIP.part"
  else
    log "mvn unavailable or failed; downloading from Maven Central directly"
    curl -sfSL --retry 3 -o "$ZIP.part" \
      "https://repo.maven.apache.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  fi
  mv "$ZIP.part" "$ZIP"
}

unpack() {
  [ -x "$DIST/bin/elasticsearch" ] && return 0
  log "unpacking $ZIP"
  mkdir -p "$DIST_ROOT" && chmod a+rx "$DIST_ROOT"
  rm -rf "$DIST.tmp" && mkdir -p "$DIST.tmp"
  (cd "$DIST.tmp" && python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall('.')" "$ZIP")
  local top
  top="$(find "$DIST.tmp" -mindepth 1 -maxdepth 1 -type d | head -1)"
  rm -rf "$DIST" && mv "$top" "$DIST" && rm -rf "$DIST.tmp"
  chmod -R a+rX "$DIST"
  chmod a+x "$DIST"/bin/*
}

ensure_user() {
  [ "$(id -u)" -ne 0 ] && return 0
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
}

free_port() {
  python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1]); s.close()"
}

up() {
  if healthy; then log "already healthy at $URL"; echo "$URL"; return 0; fi
  fetch
  unpack
  ensure_user
  local java_home
  java_home="$(find_java)" || { log "no Java found under /usr/lib/jvm"; exit 1; }
  # Data survives down/up (a restart keeps the indices); `ES_FRESH=1` starts empty.
  [ -n "${ES_FRESH:-}" ] && rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"/{data,logs,config,tmp}
  cp -r "$DIST/config/." "$RUN_DIR/config/"
  cat > "$RUN_DIR/config/elasticsearch.yml" <<EOF
cluster.name: ingest-test
node.name: ingest-test-$ES_PORT
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $(free_port)
path.data: $RUN_DIR/data
path.logs: $RUN_DIR/logs
cluster.routing.allocation.disk.threshold_enabled: false
xpack.security.enabled: false
xpack.security.http.ssl.enabled: false
xpack.security.transport.ssl.enabled: false
action.destructive_requires_name: false
EOF
  sed -i -E "s/^-Xms.*/-Xms$ES_HEAP/; s/^-Xmx.*/-Xmx$ES_HEAP/" "$RUN_DIR/config/jvm.options" 2>/dev/null || true
  if [ "$(id -u)" -eq 0 ]; then chown -R "$ES_USER" "$RUN_DIR"; fi
  log "starting Elasticsearch $ES_VERSION on $URL (Java: $java_home, heap $ES_HEAP)"
  local cmd=(env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$RUN_DIR/config" ES_TMPDIR="$RUN_DIR/tmp"
             ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP ${ES_JAVA_OPTS:-}"
             "$DIST/bin/elasticsearch" -d -p "$RUN_DIR/es.pid")
  if [ "$(id -u)" -eq 0 ]; then
    su -s /bin/bash "$ES_USER" -c "$(printf '%q ' "${cmd[@]}")" >"$RUN_DIR/start.log" 2>&1 || true
  else
    "${cmd[@]}" >"$RUN_DIR/start.log" 2>&1 || true
  fi
  local waited=0
  until healthy; do
    sleep 2; waited=$((waited + 2))
    if [ "$waited" -ge "${ES_WAIT:-180}" ]; then
      log "not healthy after ${waited}s; last log lines:"
      tail -n 30 "$RUN_DIR/start.log" "$RUN_DIR"/logs/*.log 2>/dev/null >&2 || true
      exit 1
    fi
  done
  log "healthy after ${waited}s"
  echo "$URL"
}

down() {
  local pidfile="$RUN_DIR/es.pid"
  if [ ! -f "$pidfile" ]; then log "not running (no pid file)"; return 0; fi
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
  log "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if healthy; then echo "healthy at $URL"; else echo "not running at $URL"; exit 1; fi ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 up|down|status|url" >&2; exit 2 ;;
esac
