#!/usr/bin/env bash
# A real single-node OpenSearch with the percolator module on 127.0.0.1, for tests and local use.
# The OpenSearch counterpart of scripts/es-node.sh (same commands, same cache and user handling).
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
set -euo pipefail

OS_VERSION="${OS_VERSION:-2.19.6}"
OS_PORT="${OS_PORT:-9201}"
OS_JAVA_OPTS="${OS_JAVA_OPTS:--Xms512m -Xmx512m}"
OS_USER="${OS_USER:-ingest-os}"
OS_WAIT="${OS_WAIT:-180}"
OS_STOP_WAIT="${OS_STOP_WAIT:-60}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${INGEST_CACHE:-$HOME/.cache/ingest}/opensearch"
ZIP="$CACHE/opensearch-$OS_VERSION.zip"
JAR="$CACHE/percolator-client-$OS_VERSION.jar"
IS_ROOT=0; [ "$(id -u)" -eq 0 ] && IS_ROOT=1
# The unpacked distribution must be readable by the node's user, so as root not under root's home.
DIST_ROOT="${OS_DIST_DIR:-$([ "$IS_ROOT" = 1 ] && echo /var/cache/ingest-opensearch || echo "$CACHE/dist")}"
DIST="$DIST_ROOT/opensearch-$OS_VERSION"
HOME_ROOT="${OS_HOME_DIR:-$ROOT/.opensearch}"
case "$HOME_ROOT" in /*) ;; *) HOME_ROOT="$ROOT/$HOME_ROOT" ;; esac
RUN_DIR="$HOME_ROOT/$OS_PORT"
PIDFILE="$RUN_DIR/opensearch.pid"
URL="http://127.0.0.1:$OS_PORT"
CLUSTER=ingest-test

log() { echo "opensearch-node: $*" >&2; }
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

remote_version() {  # "opensearch 2.19.6" (or "elasticsearch-or-other 9.5.4" for a node that is not OpenSearch)
  local info; info="$(curl -sf --max-time 5 "$URL/" 2>/dev/null || true)"
  local dist; dist="$(echo "$info" | grep -o '"distribution" *: *"[^"]*"' | cut -d'"' -f4)"
  local num; num="$(echo "$info" | grep -o '"number" *: *"[^"]*"' | head -1 | cut -d'"' -f4)"
  [ -n "$num" ] && echo "${dist:-not-opensearch} $num" || true
}

our_pid() {  # pid of the node started from RUN_DIR, if it is alive and still an OpenSearch process
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(tr -dc 0-9 <"$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'org.opensearch' || return 1
  echo "$pid"
}

rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

LOG_OFFSET=0  # size of the node's log before this start: only what this start wrote is shown

show_logs() {
  local f="$RUN_DIR/logs/$CLUSTER.log"
  local new; new="$(tail -c +$((LOG_OFFSET + 1)) "$f" 2>/dev/null | tail -n 30 || true)"
  [ -n "$new" ] && { echo "--- $f (last lines of this start)" >&2; echo "$new" >&2; }
  [ -s "$RUN_DIR/start.log" ] && { echo "--- $RUN_DIR/start.log" >&2; grep -v '^WARNING' "$RUN_DIR/start.log" | tail -n 20 >&2; }
  return 0
}

# -- fetch and unpack ------------------------------------------------------------------------------

# SHA-256 of the artifacts fetched and checked when this was written; for other versions Maven Central's
# .sha1 beside each artifact is checked instead (OS_ZIP_SHA256 / OS_JAR_SHA256 override).
known_sha256() {  # $1: zip|jar
  case "$OS_VERSION:$1" in
    2.19.6:zip) echo 71d6d8b1c637f3faecda0752b184b1cc526fc6eaad59ec1408c6327bb00b9293 ;;
    2.19.6:jar) echo 3a931b2089e8d6140f8b811ea8a5cbfb0cd1d2202a070c25568a7249875cd787 ;;
  esac
}

verify() {  # $1: file, $2: zip|jar, $3: Maven's .sha1 beside the artifact in the local repository
  local want; [ "$2" = zip ] && want="${OS_ZIP_SHA256:-}" || want="${OS_JAR_SHA256:-}"
  want="${want:-$(known_sha256 "$2")}"
  if [ -n "$want" ]; then
    [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$want" ] || { rm -f "$1"; die "SHA-256 of $1 is not $want"; }
  elif [ -s "$3" ]; then
    [ "$(sha1sum "$1" | cut -d' ' -f1)" = "$(tr -dc 0-9a-f <"$3" | cut -c1-40)" ] || { rm -f "$1"; die "SHA-1 of $1 does not match Maven Central's"; }
  else
    log "warning: no checksum to check $(basename "$1") against"
  fi
}

fetch_one() {  # $1: group path, $2: Maven coordinates, $3: file name in the repository, $4: target, $5: zip|jar
  [ -s "$4" ] && return 0
  local repo="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}"
  local m2="$repo/$1/$OS_VERSION/$3"
  log "fetching $2 from Maven Central with Maven (once, then cached in $CACHE)"
  if ! mvn -B -q -Dmaven.repo.local="$repo" dependency:get -Dartifact="$2" -Dtransitive=false \
       </dev/null >"$CACHE/mvn.log" 2>&1 || [ ! -s "$m2" ]; then
    tail -n 20 "$CACHE/mvn.log" >&2
    die "could not fetch $2 (is $OS_VERSION on Maven Central? set OS_VERSION)"
  fi
  ln -f "$m2" "$4.part" 2>/dev/null || cp "$m2" "$4.part"
  verify "$4.part" "$5" "$m2.sha1"
  mv -f "$4.part" "$4"
}

fetch() {
  [ -s "$ZIP" ] && [ -s "$JAR" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed to fetch OpenSearch $OS_VERSION from Maven Central (apt-get install maven)"
  mkdir -p "$CACHE"
  local t0; t0="$(now)"
  fetch_one org/opensearch/distribution/integ-test-zip/opensearch \
    "org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip" "opensearch-$OS_VERSION.zip" "$ZIP" zip
  fetch_one org/opensearch/plugin/percolator-client \
    "org.opensearch.plugin:percolator-client:$OS_VERSION" "percolator-client-$OS_VERSION.jar" "$JAR" jar
  log "fetched $(du -cm "$ZIP" "$JAR" | tail -1 | cut -f1) MB in $(since "$t0") s"
}

install_percolator() {  # $1: the unpacked distribution
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
  cat >"$dir/plugin-descriptor.properties" <<EOF
# Written by scripts/opensearch-node.sh: the percolator-client jar ships without its descriptor.
description=Percolator module adds capability to index queries and query these queries by specifying documents
version=$OS_VERSION
name=percolator
classname=$class
java.version=11
opensearch.version=$OS_VERSION
custom.foldername=
extended.plugins=
has.native.controller=false
EOF
}

unpack() {
  [ -x "$DIST/bin/opensearch" ] && [ -f "$DIST/modules/percolator/plugin-descriptor.properties" ] && return 0
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
  [ -x "$top/bin/opensearch" ] || { rm -rf "$tmp"; die "$ZIP has no bin/opensearch"; }
  install_percolator "$top"
  chmod -R a+rX,go-w "$top"
  rm -rf "$DIST" && mv "$top" "$DIST" && rm -rf "$tmp"
  log "modules in the distribution: $(ls "$DIST/modules" | tr '\n' ' ')"
}

# -- environment -----------------------------------------------------------------------------------

ensure_user() {
  [ "$IS_ROOT" = 1 ] || return 0
  id "$OS_USER" >/dev/null 2>&1 && return 0
  log "creating system user $OS_USER (OpenSearch refuses to run as root)"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$OS_USER"
}

java_major() {  # major version of the JDK at $1, from its `release` file or `java -version`
  local v=""
  [ -f "$1/release" ] && v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release")"
  [ -n "$v" ] || v="$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -1)"
  v="${v#1.}"; echo "${v%%[!0-9]*}"
}

find_java() {  # OS_JAVA_HOME if set, else the newest JDK under /usr/lib/jvm in [11, 23]
  local min=11 max=23
  if [ -n "${OS_JAVA_HOME:-}" ]; then
    [ -x "$OS_JAVA_HOME/bin/java" ] || die "OS_JAVA_HOME=$OS_JAVA_HOME has no bin/java"
    echo "$OS_JAVA_HOME"; return 0
  fi
  local d best="" best_major=0 m
  for d in /usr/lib/jvm/temurin-* /usr/lib/jvm/*; do
    [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" -o -d "$d/lib" ] || continue
    m="$(java_major "$d")"
    [ -n "$m" ] && [ "$m" -ge "$min" ] && [ "$m" -le "$max" ] && [ "$m" -gt "$best_major" ] && { best="$d"; best_major="$m"; }
  done
  [ -n "$best" ] || die "OpenSearch $OS_VERSION needs Java $min to $max (newer ones lack the Security Manager it uses); none under /usr/lib/jvm (apt-get install openjdk-17-jdk-headless, or set OS_JAVA_HOME)"
  echo "$best"
}

as_node_user() {  # run a command as the node's user (as root) or as ourselves
  if [ "$IS_ROOT" = 1 ]; then runuser -u "$OS_USER" -- "$@"; else "$@"; fi
}

write_config() {
  local conf="$RUN_DIR/config"
  mkdir -p "$conf/jvm.options.d"
  # Fresh copy of the distribution's config each start; the keystore made at first start is kept.
  (cd "$DIST/config" && find . -type f ! -name opensearch.keystore -exec cp --parents -f {} "$conf/" \;)
  # jvm.options names gc.log, heap dumps and crash files relative to the distribution, which the node's
  # user cannot write (and several nodes would share): point them into this node's directories.
  sed -i -e "s#file=logs/gc.log#file=$RUN_DIR/logs/gc.log#" -e "s#HeapDumpPath=data#HeapDumpPath=$RUN_DIR/data#" \
      -e "s#ErrorFile=logs/#ErrorFile=$RUN_DIR/logs/#" "$conf/jvm.options"
  {
    echo "# Written by scripts/opensearch-node.sh on each start: edit the script, not this file."
    echo "cluster.name: $CLUSTER"
    echo "node.name: $CLUSTER-$OS_PORT"
    echo "discovery.type: single-node"
    echo "network.host: 127.0.0.1"
    echo "http.port: $OS_PORT"
    echo "transport.port: 9300-9399  # the first free one"
    echo "path.data: $RUN_DIR/data"
    echo "path.logs: $RUN_DIR/logs"
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.destructive_requires_name: false"
    # Only settings of plugins the distribution has: an unknown setting stops the node at start.
    [ -d "$DIST/plugins/opensearch-security" ] && echo "plugins.security.disabled: true"
    true
  } >"$conf/opensearch.yml"
}

# -- commands --------------------------------------------------------------------------------------

cmd_up() {
  mkdir -p "$HOME_ROOT"
  exec 9>"$HOME_ROOT/.$OS_PORT.lock"
  flock -w $((OS_WAIT + 60)) 9 || die "another opensearch-node.sh holds $HOME_ROOT/.$OS_PORT.lock"

  if healthy; then
    local v; v="$(remote_version)"
    case "$v" in
      opensearch\ *) log "a node is already healthy at $URL (OpenSearch ${v#* })"
                     [ "${v#* }" != "$OS_VERSION" ] && log "note: it is ${v#* }, not $OS_VERSION; \`$0 down\` then \`up\` to switch"
                     echo "$URL"; return 0 ;;
      *) die "port $OS_PORT answers as ${v:-something else}, not OpenSearch; set OS_PORT" ;;
    esac
  fi

  local pid t0 waited=0
  if pid="$(our_pid)"; then
    log "node (pid $pid) is running but not healthy yet; waiting"
    t0="$(now)"
  else
    local code; code="$(http_code)"
    [ "$code" = "000" ] || die "port $OS_PORT answers (HTTP $code) but not as a healthy node this script started; set OS_PORT"
    fetch
    unpack
    ensure_user
    local java; java="$(find_java)"

    mkdir -p "$RUN_DIR"
    local had; had="$(cat "$RUN_DIR/version" 2>/dev/null || true)"
    if [ -n "${OS_FRESH:-}" ] || { [ -n "$had" ] && [ "$had" != "$OS_VERSION" ]; }; then
      log "starting with empty data in $RUN_DIR/data${had:+ (it held $had data)}"
      rm -rf "$RUN_DIR/data"
    fi
    mkdir -p "$RUN_DIR"/{data,logs,tmp}
    rm -f "$PIDFILE"
    write_config
    echo "$OS_VERSION" >"$RUN_DIR/version"
    [ "$IS_ROOT" = 1 ] && chown -R "$OS_USER:" "$RUN_DIR"
    as_node_user test -w "$RUN_DIR/data" -a -r "$DIST/lib" \
      || die "user $OS_USER cannot write $RUN_DIR or read $DIST (a parent dir not searchable?); set OS_HOME_DIR/OS_DIST_DIR"

    log "starting OpenSearch $OS_VERSION at $URL (Java $(java_major "$java"): $java; $OS_JAVA_OPTS; dir $RUN_DIR)"
    LOG_OFFSET="$(stat -c %s "$RUN_DIR/logs/$CLUSTER.log" 2>/dev/null || echo 0)"
    t0="$(now)"
    # -d: daemonize; the launcher returns once the node has started (or failed), -p writes the pid file.
    local rc=0
    (cd "$RUN_DIR" && as_node_user env HOME="$RUN_DIR" OPENSEARCH_JAVA_HOME="$java" JAVA_HOME="$java" \
        OPENSEARCH_PATH_CONF="$RUN_DIR/config" OPENSEARCH_TMPDIR="$RUN_DIR/tmp" OPENSEARCH_JAVA_OPTS="$OS_JAVA_OPTS" \
        "$DIST/bin/opensearch" -d -p "$PIDFILE") </dev/null >"$RUN_DIR/start.log" 2>&1 9>&- || rc=$?
    if [ "$rc" -ne 0 ]; then
      show_logs; die "OpenSearch did not start (launcher exit $rc)"
    fi
  fi

  until healthy; do
    if ! our_pid >/dev/null && [ -f "$PIDFILE" -o "$waited" -ge 10 ]; then
      show_logs; die "the node exited before it became healthy"
    fi
    [ "$waited" -ge "$OS_WAIT" ] && { show_logs; die "not healthy after ${OS_WAIT}s"; }
    sleep 1; waited=$((waited + 1))
  done
  pid="$(our_pid || echo "?")"
  log "healthy after $(since "$t0") s: $(remote_version) at $URL, pid $pid, RSS $(rss_mb "$pid") MB"
  echo "$URL"
}

cmd_down() {
  mkdir -p "$HOME_ROOT"
  exec 9>"$HOME_ROOT/.$OS_PORT.lock"
  flock -w $((OS_STOP_WAIT + 60)) 9 || die "another opensearch-node.sh holds $HOME_ROOT/.$OS_PORT.lock"
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PIDFILE"
    if [ "$(http_code)" != "000" ]; then
      die "something answers at $URL but it was not started from $RUN_DIR; not stopping it"
    fi
    log "not running at $URL"; return 0
  fi
  log "stopping pid $pid (SIGTERM, SIGKILL after ${OS_STOP_WAIT}s)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < OS_STOP_WAIT * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${OS_STOP_WAIT}s: SIGKILL"
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
      echo "healthy at $URL (${v:-?}, pid $pid, RSS $(rss_mb "$pid") MB, dir $RUN_DIR)"
    else
      echo "healthy at $URL (${v:-?}, not started from $RUN_DIR)"
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
