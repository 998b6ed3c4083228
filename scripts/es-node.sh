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
#
# Environment (all optional):
#   ES_VERSION      distribution version (default below)       ES_PORT        HTTP port (9200)
#   ES_JAVA_OPTS    JVM options (-Xms512m -Xmx512m)             ES_JAVA_HOME   JDK to run it with
#   INGEST_CACHE    download cache root (~/.cache/ingest)       ES_DIST_DIR    where the zip is unpacked
#   ES_HOME_DIR     per-node dirs root (<checkout>/.es)         ES_USER        user to run as when root
#   ES_WAIT         seconds to wait for health on `up` (180)    ES_STOP_WAIT   seconds before SIGKILL (60)
#   ES_FRESH=1      start with empty data (data otherwise survives down/up of the same version)
set -euo pipefail

ES_VERSION="${ES_VERSION:-9.5.4}"
ES_PORT="${ES_PORT:-9200}"
ES_JAVA_OPTS="${ES_JAVA_OPTS:--Xms512m -Xmx512m}"
ES_USER="${ES_USER:-ingest-es}"
ES_WAIT="${ES_WAIT:-180}"
ES_STOP_WAIT="${ES_STOP_WAIT:-60}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${INGEST_CACHE:-$HOME/.cache/ingest}/es"
ZIP="$CACHE/elasticsearch-$ES_VERSION.zip"
IS_ROOT=0; [ "$(id -u)" -eq 0 ] && IS_ROOT=1
# The unpacked distribution must be readable by the node's user, so as root not under root's home.
DIST_ROOT="${ES_DIST_DIR:-$([ "$IS_ROOT" = 1 ] && echo /var/cache/ingest-es || echo "$CACHE/dist")}"
DIST="$DIST_ROOT/elasticsearch-$ES_VERSION"
HOME_ROOT="${ES_HOME_DIR:-$ROOT/.es}"
case "$HOME_ROOT" in /*) ;; *) HOME_ROOT="$ROOT/$HOME_ROOT" ;; esac
RUN_DIR="$HOME_ROOT/$ES_PORT"
PIDFILE="$RUN_DIR/es.pid"
URL="http://127.0.0.1:$ES_PORT"
CLUSTER=ingest-test

log() { echo "es-node: $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# -- probes ----------------------------------------------------------------------------------------

healthy() {
  curl -sf --max-time 5 "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1
}

http_code() {  # 000 when nothing listens
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL/_cluster/health" 2>/dev/null || true
}

remote_version() {  # `GET /` needs the rest-root module, absent from the integ-test zip: use _nodes instead
  curl -sf --max-time 5 "$URL/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null \
    | grep -o '"version":"[^"]*"' | head -1 | cut -d'"' -f4 || true
}

our_pid() {  # pid of the node started from RUN_DIR, if it is alive and still an Elasticsearch process
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(tr -dc 0-9 <"$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'org.elasticsearch' || return 1
  echo "$pid"
}

rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

LOG_OFFSET=0  # size of the node's log before this start: only what this start wrote is shown

show_logs() {
  local f="$RUN_DIR/logs/$CLUSTER.log"
  local new; new="$(tail -c +$((LOG_OFFSET + 1)) "$f" 2>/dev/null | tail -n 30)"
  [ -n "$new" ] && { echo "--- $f (last lines of this start)" >&2; echo "$new" >&2; }
  [ -s "$RUN_DIR/start.log" ] && { echo "--- $RUN_DIR/start.log" >&2; tail -n 20 "$RUN_DIR/start.log" >&2; }
  return 0
}

# -- fetch and unpack ------------------------------------------------------------------------------

# SHA-256 of zips fetched and checked when this was written. Maven Central has no .sha1/.asc for the 9.x
# zips (Maven's own checksum check cannot apply), so the download is checked against these; for a version not
# listed, give ES_ZIP_SHA256 or accept the warning.
known_sha256() {
  case "$1" in
    9.5.4) echo d9b0c28e08e499f6510b52ad66ec4bf9cdceab97cc28b3456989b8744b896934 ;;
    8.19.21) echo 215d5f3dbf0609a149f6218a9e47b6ae2df34ebbff3c5754e35f15a5e5393c8a ;;
  esac
}

verify_zip() {  # $1: file, $2: Maven's .sha1 beside the artifact in the local repository, if any
  local want="${ES_ZIP_SHA256:-$(known_sha256 "$ES_VERSION")}"
  if [ -n "$want" ]; then
    [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$want" ] || { rm -f "$1"; die "SHA-256 of $1 is not $want"; }
  elif [ -s "$2" ]; then
    [ "$(sha1sum "$1" | cut -d' ' -f1)" = "$(tr -dc 0-9a-f <"$2" | cut -c1-40)" ] || { rm -f "$1"; die "SHA-1 of $1 does not match Maven Central's"; }
  else
    log "warning: no checksum to check elasticsearch-$ES_VERSION.zip against (set ES_ZIP_SHA256)"
  fi
}

fetch() {
  [ -s "$ZIP" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed to fetch $ES_VERSION from Maven Central (apt-get install maven)"
  mkdir -p "$CACHE"
  local coords="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
  local repo="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}"
  local m2="$repo/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  local t0; t0="$(now)"
  log "fetching $coords from Maven Central with Maven (about 130 MB; once, then cached in $CACHE)"
  if ! mvn -B -q -Dmaven.repo.local="$repo" dependency:get -Dartifact="$coords" -Dtransitive=false \
       </dev/null >"$CACHE/mvn.log" 2>&1 || [ ! -s "$m2" ]; then
    tail -n 20 "$CACHE/mvn.log" >&2
    die "could not fetch $coords (is $ES_VERSION on Maven Central? set ES_VERSION)"
  fi
  ln -f "$m2" "$ZIP.part" 2>/dev/null || cp "$m2" "$ZIP.part"
  verify_zip "$ZIP.part" "$m2.sha1"
  mv -f "$ZIP.part" "$ZIP"
  log "fetched $(du -m "$ZIP" | cut -f1) MB in $(since "$t0") s"
}

unpack() {
  [ -x "$DIST/bin/elasticsearch" ] && return 0
  log "unpacking $ZIP to $DIST"
  mkdir -p "$DIST_ROOT" && chmod 755 "$DIST_ROOT"
  local tmp="$DIST.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$ZIP" -d "$tmp"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$ZIP" "$tmp"
    chmod a+x "$tmp"/*/bin/*
  fi
  local top; top="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)"
  [ -x "$top/bin/elasticsearch" ] || { rm -rf "$tmp"; die "$ZIP has no bin/elasticsearch"; }
  chmod -R a+rX,go-w "$top"
  rm -rf "$DIST" && mv "$top" "$DIST" && rm -rf "$tmp"
  log "modules in the distribution: $(ls "$DIST/modules" | tr '\n' ' ')"
}

# -- environment -----------------------------------------------------------------------------------

ensure_user() {
  [ "$IS_ROOT" = 1 ] || return 0
  id "$ES_USER" >/dev/null 2>&1 && return 0
  log "creating system user $ES_USER (Elasticsearch refuses to run as root)"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER"
}

java_major() {  # major version of the JDK at $1, from its `release` file or `java -version`
  local v=""
  [ -f "$1/release" ] && v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release")"
  [ -n "$v" ] || v="$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -1)"
  v="${v#1.}"; echo "${v%%[!0-9]*}"
}

find_java() {  # ES_JAVA_HOME if set, else the lowest-version JDK under /usr/lib/jvm that is new enough
  local min=21; [ "${ES_VERSION%%.*}" -le 8 ] && min=17
  if [ -n "${ES_JAVA_HOME:-}" ]; then
    [ -x "$ES_JAVA_HOME/bin/java" ] || die "ES_JAVA_HOME=$ES_JAVA_HOME has no bin/java"
    echo "$ES_JAVA_HOME"; return 0
  fi
  local d best="" best_major=999 m
  for d in /usr/lib/jvm/temurin-* /usr/lib/jvm/*; do
    [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" -o -d "$d/lib" ] || continue
    m="$(java_major "$d")"
    [ -n "$m" ] && [ "$m" -ge "$min" ] && [ "$m" -lt "$best_major" ] && { best="$d"; best_major="$m"; }
  done
  [ -n "$best" ] || die "Elasticsearch $ES_VERSION needs Java $min+; none under /usr/lib/jvm (set ES_JAVA_HOME)"
  echo "$best"
}

as_node_user() {  # run a command as the node's user (as root) or as ourselves
  if [ "$IS_ROOT" = 1 ]; then runuser -u "$ES_USER" -- "$@"; else "$@"; fi
}

write_config() {
  local conf="$RUN_DIR/config"
  mkdir -p "$conf/jvm.options.d"
  # Fresh copy of the distribution's config each start; the keystore made at first start is kept.
  (cd "$DIST/config" && find . -type f ! -name elasticsearch.keystore -exec cp --parents -f {} "$conf/" \;)
  {
    echo "# Written by scripts/es-node.sh on each start: edit the script, not this file."
    echo "cluster.name: $CLUSTER"
    echo "node.name: $CLUSTER-$ES_PORT"
    echo "discovery.type: single-node"
    echo "network.host: 127.0.0.1"
    echo "http.port: $ES_PORT"
    echo "transport.port: 9300-9399  # the first free one"
    echo "path.data: $RUN_DIR/data"
    echo "path.logs: $RUN_DIR/logs"
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.destructive_requires_name: false"
    # Only settings of modules the distribution has: an unknown setting stops the node at start.
    if [ -d "$DIST/modules/x-pack-security" ]; then
      echo "xpack.security.enabled: false"
      echo "xpack.security.http.ssl.enabled: false"
      echo "xpack.security.transport.ssl.enabled: false"
    fi
    [ -d "$DIST/modules/x-pack-ml" ] && echo "xpack.ml.enabled: false"
    [ -d "$DIST/modules/ingest-geoip" ] && echo "ingest.geoip.downloader.enabled: false"
    true
  } >"$conf/elasticsearch.yml"
}

# -- commands --------------------------------------------------------------------------------------

cmd_up() {
  mkdir -p "$HOME_ROOT"
  exec 9>"$HOME_ROOT/.$ES_PORT.lock"
  flock -w $((ES_WAIT + 60)) 9 || die "another es-node.sh holds $HOME_ROOT/.$ES_PORT.lock"

  if healthy; then
    local v; v="$(remote_version)"
    log "a node is already healthy at $URL (Elasticsearch ${v:-?})"
    [ -n "$v" ] && [ "$v" != "$ES_VERSION" ] && log "note: it is $v, not $ES_VERSION; \`$0 down\` then \`up\` to switch"
    echo "$URL"; return 0
  fi

  local pid t0 waited=0
  if pid="$(our_pid)"; then
    log "node (pid $pid) is running but not healthy yet; waiting"
    t0="$(now)"
  else
    local code; code="$(http_code)"
    [ "$code" = "000" ] || die "port $ES_PORT answers (HTTP $code) but not as a healthy node this script started; set ES_PORT"
    fetch
    unpack
    ensure_user
    local java; java="$(find_java)"

    mkdir -p "$RUN_DIR"
    # Data survives down/up; ES_FRESH=1, or data recorded as another version's (a downgrade would not start),
    # starts empty. Data from before the version was recorded (8.19.21) is kept: 9.x upgrades it in place.
    local had; had="$(cat "$RUN_DIR/version" 2>/dev/null || true)"
    if [ -n "${ES_FRESH:-}" ] || { [ -n "$had" ] && [ "$had" != "$ES_VERSION" ]; }; then
      log "starting with empty data in $RUN_DIR/data${had:+ (it held $had data)}"
      rm -rf "$RUN_DIR/data"
    fi
    mkdir -p "$RUN_DIR"/{data,logs,tmp}
    rm -f "$PIDFILE"
    write_config
    echo "$ES_VERSION" >"$RUN_DIR/version"
    [ "$IS_ROOT" = 1 ] && chown -R "$ES_USER:" "$RUN_DIR"
    as_node_user test -w "$RUN_DIR/data" -a -r "$DIST/lib" \
      || die "user $ES_USER cannot write $RUN_DIR or read $DIST (a parent dir not searchable?); set ES_HOME_DIR/ES_DIST_DIR"

    log "starting Elasticsearch $ES_VERSION at $URL (Java $(java_major "$java"): $java; $ES_JAVA_OPTS; dir $RUN_DIR)"
    LOG_OFFSET="$(stat -c %s "$RUN_DIR/logs/$CLUSTER.log" 2>/dev/null || echo 0)"
    t0="$(now)"
    # -d: daemonize; the launcher returns once the node has started (or failed), -p writes the pid file.
    local rc=0
    (cd "$RUN_DIR" && as_node_user env HOME="$RUN_DIR" ES_JAVA_HOME="$java" ES_PATH_CONF="$RUN_DIR/config" \
        ES_TMPDIR="$RUN_DIR/tmp" ES_JAVA_OPTS="$ES_JAVA_OPTS" \
        "$DIST/bin/elasticsearch" -d -p "$PIDFILE") </dev/null >"$RUN_DIR/start.log" 2>&1 9>&- || rc=$?
    if [ "$rc" -ne 0 ]; then
      show_logs; die "Elasticsearch did not start (launcher exit $rc)"
    fi
  fi

  until healthy; do
    if ! our_pid >/dev/null && [ -f "$PIDFILE" -o "$waited" -ge 10 ]; then
      show_logs; die "the node exited before it became healthy"
    fi
    [ "$waited" -ge "$ES_WAIT" ] && { show_logs; die "not healthy after ${ES_WAIT}s"; }
    sleep 1; waited=$((waited + 1))
  done
  pid="$(our_pid || echo "?")"
  log "healthy after $(since "$t0") s: Elasticsearch $(remote_version) at $URL, pid $pid, RSS $(rss_mb "$pid") MB"
  echo "$URL"
}

cmd_down() {
  mkdir -p "$HOME_ROOT"
  exec 9>"$HOME_ROOT/.$ES_PORT.lock"
  flock -w $((ES_STOP_WAIT + 60)) 9 || die "another es-node.sh holds $HOME_ROOT/.$ES_PORT.lock"
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PIDFILE"
    if [ "$(http_code)" != "000" ]; then
      die "something answers at $URL but it was not started from $RUN_DIR; not stopping it"
    fi
    log "not running at $URL"; return 0
  fi
  log "stopping pid $pid (SIGTERM, SIGKILL after ${ES_STOP_WAIT}s)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < ES_STOP_WAIT * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${ES_STOP_WAIT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$PIDFILE"
  log "stopped"
}

cmd_status() {
  local pid="" v
  pid="$(our_pid || true)"
  if healthy; then
    v="$(remote_version)"
    if [ -n "$pid" ]; then
      echo "healthy at $URL (Elasticsearch ${v:-?}, pid $pid, RSS $(rss_mb "$pid") MB, dir $RUN_DIR)"
    else
      echo "healthy at $URL (Elasticsearch ${v:-?}, not started from $RUN_DIR)"
    fi
    return 0
  fi
  if [ -n "$pid" ]; then echo "running but not healthy at $URL (pid $pid)"; else echo "not running at $URL"; fi
  return 1
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 up|down|status|url" >&2; exit 2 ;;
esac
