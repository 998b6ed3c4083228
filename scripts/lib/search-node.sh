# shellcheck shell=bash
# The shared body of scripts/es-node.sh and scripts/opensearch-node.sh: one single-node search engine on
# 127.0.0.1, fetched from Maven Central with `mvn`, run with a JDK from /usr/lib/jvm (as a system user when
# root), with a pid file, a health wait and up/down/status/url. Sourced, never run: the engine script
# sources this file, calls `node_env` (its environment variables), sets the engine's own values, defines
# the engine_* hooks and calls `node_main "$@"`.
#
# node_env PREFIX VERSION PORT USER DIR reads PREFIX_VERSION, _PORT, _JAVA_OPTS, _JAVA_HOME, _USER, _WAIT,
# _STOP_WAIT, _FRESH, _DIST_DIR and _HOME_DIR (defaults: the arguments; DIR names the cache subfolder and
# <checkout>/.DIR, the per-node dirs root). The engine script then sets:
#   TAG          log prefix (es-node)                    PRODUCT      name in messages (Elasticsearch)
#   ARTIFACTS    array: the files fetched into CACHE     ZIP          the distribution zip among them
#   ROOT_DIST_ROOT  where distributions are unpacked as root (the node's user must read it: not under /root)
#   JAVA_MIN, JAVA_MAX  usable JDK majors                JAVA_PREFER  lowest | newest usable JDK
#   BIN          launcher under bin/ (elasticsearch)     MAIN_CLASS   package in the node's command line
#   CONF_FILE    settings file name (elasticsearch.yml)  KEYSTORE     keystore file name kept across starts
#   PID_NAME     pid file name
#   START_LOG_SKIP  start.log lines not shown on failure (grep -E pattern; empty: show all)
# Hooks: engine_fetch (fetch_one each artifact), engine_unpacked (0 when $DIST is complete),
#   engine_after_unpack <dir>, engine_config <confdir> (adjust the copied config), engine_settings
#   (extra settings lines), engine_launch <java> (start the daemon), engine_remote_version,
#   engine_existing (a healthy node already answers: log to reuse it, or die), engine_java_hint.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IS_ROOT=0; [ "$(id -u)" -eq 0 ] && IS_ROOT=1
CLUSTER=ingest-test
SCRIPT_NAME="$(basename "$0")"
START_LOG_SKIP=""

node_env() {  # $1: variable prefix, $2: default version, $3: default port, $4: default user, $5: dir name
  local p="$1" v
  ENV_PREFIX="$p"
  v="${p}_VERSION"; VERSION="${!v:-$2}"
  v="${p}_PORT"; PORT="${!v:-$3}"
  v="${p}_USER"; NODE_USER="${!v:-$4}"
  v="${p}_JAVA_OPTS"; NODE_JAVA_OPTS="${!v:--Xms512m -Xmx512m}"
  v="${p}_JAVA_HOME"; JAVA_OVERRIDE="${!v:-}"
  v="${p}_WAIT"; WAIT="${!v:-180}"
  v="${p}_STOP_WAIT"; STOP_WAIT="${!v:-60}"
  v="${p}_FRESH"; FRESH="${!v:-}"
  v="${p}_DIST_DIR"; DIST_ROOT="${!v:-}"
  v="${p}_HOME_DIR"; HOME_ROOT="${!v:-$ROOT/.$5}"
  CACHE="${INGEST_CACHE:-$HOME/.cache/ingest}/$5"
}

node_paths() {  # derived from node_env and the engine's values
  # The unpacked distribution must be readable by the node's user, so as root not under root's home.
  [ -n "$DIST_ROOT" ] || DIST_ROOT="$([ "$IS_ROOT" = 1 ] && echo "$ROOT_DIST_ROOT" || echo "$CACHE/dist")"
  DIST="$DIST_ROOT/$BIN-$VERSION"
  case "$HOME_ROOT" in /*) ;; *) HOME_ROOT="$ROOT/$HOME_ROOT" ;; esac
  RUN_DIR="$HOME_ROOT/$PORT"
  PIDFILE="$RUN_DIR/$PID_NAME"
  URL="http://127.0.0.1:$PORT"
}

log() { echo "$TAG: $*" >&2; }
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

our_pid() {  # pid of the node started from RUN_DIR, if it is alive and still this engine's process
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(tr -dc 0-9 <"$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$MAIN_CLASS" || return 1
  echo "$pid"
}

rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

LOG_OFFSET=0  # size of the node's log before this start: only what this start wrote is shown

show_logs() {
  local f="$RUN_DIR/logs/$CLUSTER.log"
  local new; new="$(tail -c +$((LOG_OFFSET + 1)) "$f" 2>/dev/null | tail -n 30 || true)"
  [ -n "$new" ] && { echo "--- $f (last lines of this start)" >&2; echo "$new" >&2; }
  if [ -s "$RUN_DIR/start.log" ]; then
    echo "--- $RUN_DIR/start.log" >&2
    if [ -n "$START_LOG_SKIP" ]; then grep -Ev "$START_LOG_SKIP" "$RUN_DIR/start.log" | tail -n 20 >&2 || true
    else tail -n 20 "$RUN_DIR/start.log" >&2; fi
  fi
  return 0
}

# -- fetch and unpack ------------------------------------------------------------------------------

verify() {  # $1: file, $2: wanted SHA-256 (may be empty), $3: Maven's .sha1 beside it, $4: variable to set
  if [ -n "$2" ]; then
    [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ] || { rm -f "$1"; die "SHA-256 of $1 is not $2"; }
  elif [ -s "$3" ]; then
    [ "$(sha1sum "$1" | cut -d' ' -f1)" = "$(tr -dc 0-9a-f <"$3" | cut -c1-40)" ] || { rm -f "$1"; die "SHA-1 of $1 does not match Maven Central's"; }
  else
    log "warning: no checksum to check $(basename "${1%.part}") against (set $4)"
  fi
}

# $1: Maven coordinates (group:artifact:version[:type]), $2: target file, $3: wanted SHA-256 (may be empty),
# $4: the variable that overrides it (named in the warning when there is no checksum at all)
fetch_one() {
  [ -s "$2" ] && return 0
  local group artifact version type
  IFS=: read -r group artifact version type <<<"$1"
  local repo="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}"
  local m2="$repo/${group//.//}/$artifact/$version/$artifact-$version.${type:-jar}"
  log "fetching $1 from Maven Central with Maven (once, then cached in $CACHE)"
  if ! mvn -B -q -Dmaven.repo.local="$repo" dependency:get -Dartifact="$1" -Dtransitive=false \
       </dev/null >"$CACHE/mvn.log" 2>&1 || [ ! -s "$m2" ]; then
    tail -n 20 "$CACHE/mvn.log" >&2
    die "could not fetch $1 (is $VERSION on Maven Central? set ${ENV_PREFIX}_VERSION)"
  fi
  ln -f "$m2" "$2.part" 2>/dev/null || cp "$m2" "$2.part"
  verify "$2.part" "$3" "$m2.sha1" "$4"
  mv -f "$2.part" "$2"
}

fetch() {
  local f missing=0
  for f in "${ARTIFACTS[@]}"; do [ -s "$f" ] || missing=1; done
  [ "$missing" = 1 ] || return 0
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed to fetch $PRODUCT $VERSION from Maven Central (apt-get install maven)"
  mkdir -p "$CACHE"
  local t0; t0="$(now)"
  engine_fetch
  log "fetched $(du -cm "${ARTIFACTS[@]}" | tail -1 | cut -f1) MB in $(since "$t0") s"
}

unpack() {  # $1: the zip
  engine_unpacked && return 0
  log "unpacking $1 to $DIST"
  mkdir -p "$DIST_ROOT" && chmod 755 "$DIST_ROOT"
  local tmp="$DIST.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$1" -d "$tmp"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$1" "$tmp"
    chmod a+x "$tmp"/*/bin/*
  fi
  local top; top="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)"
  [ -x "$top/bin/$BIN" ] || { rm -rf "$tmp"; die "$1 has no bin/$BIN"; }
  engine_after_unpack "$top"
  chmod -R a+rX,go-w "$top"
  rm -rf "$DIST" && mv "$top" "$DIST" && rm -rf "$tmp"
  log "modules in the distribution: $(ls "$DIST/modules" | tr '\n' ' ')"
}

# -- environment -----------------------------------------------------------------------------------

ensure_user() {
  [ "$IS_ROOT" = 1 ] || return 0
  id "$NODE_USER" >/dev/null 2>&1 && return 0
  log "creating system user $NODE_USER ($PRODUCT refuses to run as root)"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$NODE_USER"
}

java_major() {  # major version of the JDK at $1, from its `release` file or `java -version`
  local v=""
  [ -f "$1/release" ] && v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release")"
  [ -n "$v" ] || v="$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -1)"
  v="${v#1.}"; echo "${v%%[!0-9]*}"
}

find_java() {  # the override if set, else the lowest (or newest) JDK under /usr/lib/jvm in [JAVA_MIN, JAVA_MAX]
  if [ -n "$JAVA_OVERRIDE" ]; then
    [ -x "$JAVA_OVERRIDE/bin/java" ] || die "${ENV_PREFIX}_JAVA_HOME=$JAVA_OVERRIDE has no bin/java"
    echo "$JAVA_OVERRIDE"; return 0
  fi
  local d best="" best_major="" m
  for d in /usr/lib/jvm/temurin-* /usr/lib/jvm/*; do
    [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" -o -d "$d/lib" ] || continue
    m="$(java_major "$d")"
    [ -n "$m" ] && [ "$m" -ge "$JAVA_MIN" ] && [ "$m" -le "$JAVA_MAX" ] || continue
    if [ -z "$best_major" ] || { [ "$JAVA_PREFER" = lowest ] && [ "$m" -lt "$best_major" ]; } \
       || { [ "$JAVA_PREFER" = newest ] && [ "$m" -gt "$best_major" ]; }; then
      best="$d"; best_major="$m"
    fi
  done
  [ -n "$best" ] || die "$(engine_java_hint)"
  echo "$best"
}

as_node_user() {  # run a command as the node's user (as root) or as ourselves
  if [ "$IS_ROOT" = 1 ]; then runuser -u "$NODE_USER" -- "$@"; else "$@"; fi
}

write_config() {
  local conf="$RUN_DIR/config"
  mkdir -p "$conf/jvm.options.d"
  # Fresh copy of the distribution's config each start; the keystore made at first start is kept.
  (cd "$DIST/config" && find . -type f ! -name "$KEYSTORE" -exec cp --parents -f {} "$conf/" \;)
  engine_config "$conf"
  {
    echo "# Written by scripts/$SCRIPT_NAME on each start: edit the script, not this file."
    echo "cluster.name: $CLUSTER"
    echo "node.name: $CLUSTER-$PORT"
    echo "discovery.type: single-node"
    echo "network.host: 127.0.0.1"
    echo "http.port: $PORT"
    echo "transport.port: 9300-9399  # the first free one"
    echo "path.data: $RUN_DIR/data"
    echo "path.logs: $RUN_DIR/logs"
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.destructive_requires_name: false"
    # Only settings of modules the distribution has: an unknown setting stops the node at start.
    engine_settings
    true
  } >"$conf/$CONF_FILE"
}

lock() {  # $1: seconds to wait for another run of this script on the same port
  mkdir -p "$HOME_ROOT"
  exec 9>"$HOME_ROOT/.$PORT.lock"
  flock -w "$1" 9 || die "another $SCRIPT_NAME holds $HOME_ROOT/.$PORT.lock"
}

# -- commands --------------------------------------------------------------------------------------

start() {  # fetch, unpack, configure and launch; sets t0
  local code; code="$(http_code)"
  [ "$code" = "000" ] || die "port $PORT answers (HTTP $code) but not as a healthy node this script started; set ${ENV_PREFIX}_PORT"
  fetch
  unpack "$ZIP"
  ensure_user
  local java; java="$(find_java)"

  mkdir -p "$RUN_DIR"
  # Data survives down/up; FRESH, or data recorded as another version's (a downgrade would not start),
  # starts empty. Data from before the version was recorded is kept (an upgrade migrates it in place).
  local had; had="$(cat "$RUN_DIR/version" 2>/dev/null || true)"
  if [ -n "$FRESH" ] || { [ -n "$had" ] && [ "$had" != "$VERSION" ]; }; then
    log "starting with empty data in $RUN_DIR/data${had:+ (it held $had data)}"
    rm -rf "$RUN_DIR/data"
  fi
  mkdir -p "$RUN_DIR"/{data,logs,tmp}
  rm -f "$PIDFILE"
  write_config
  echo "$VERSION" >"$RUN_DIR/version"
  [ "$IS_ROOT" = 1 ] && chown -R "$NODE_USER:" "$RUN_DIR"
  as_node_user test -w "$RUN_DIR/data" -a -r "$DIST/lib" \
    || die "user $NODE_USER cannot write $RUN_DIR or read $DIST (a parent dir not searchable?); set ${ENV_PREFIX}_HOME_DIR/${ENV_PREFIX}_DIST_DIR"

  log "starting $PRODUCT $VERSION at $URL (Java $(java_major "$java"): $java; $NODE_JAVA_OPTS; dir $RUN_DIR)"
  LOG_OFFSET="$(stat -c %s "$RUN_DIR/logs/$CLUSTER.log" 2>/dev/null || echo 0)"
  t0="$(now)"
  # -d: daemonize; the launcher returns once the node has started (or failed), -p writes the pid file.
  local rc=0
  (cd "$RUN_DIR" && engine_launch "$java") </dev/null >"$RUN_DIR/start.log" 2>&1 9>&- || rc=$?
  if [ "$rc" -ne 0 ]; then
    show_logs; die "$PRODUCT did not start (launcher exit $rc)"
  fi
}

cmd_up() {
  lock $((WAIT + 60))
  if healthy; then
    engine_existing
    echo "$URL"; return 0
  fi
  local pid t0 waited=0
  if pid="$(our_pid)"; then
    log "node (pid $pid) is running but not healthy yet; waiting"
    t0="$(now)"
  else
    start
  fi
  until healthy; do
    if ! our_pid >/dev/null && [ -f "$PIDFILE" -o "$waited" -ge 10 ]; then
      show_logs; die "the node exited before it became healthy"
    fi
    [ "$waited" -ge "$WAIT" ] && { show_logs; die "not healthy after ${WAIT}s"; }
    sleep 1; waited=$((waited + 1))
  done
  pid="$(our_pid || echo "?")"
  log "healthy after $(since "$t0") s: $(engine_remote_version) at $URL, pid $pid, RSS $(rss_mb "$pid") MB"
  echo "$URL"
}

cmd_down() {
  lock $((STOP_WAIT + 60))
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PIDFILE"
    if [ "$(http_code)" != "000" ]; then
      die "something answers at $URL but it was not started from $RUN_DIR; not stopping it"
    fi
    log "not running at $URL"; return 0
  fi
  log "stopping pid $pid (SIGTERM, SIGKILL after ${STOP_WAIT}s)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < STOP_WAIT * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${STOP_WAIT}s: SIGKILL"
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
    v="$(engine_remote_version)"
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

node_main() {
  node_paths
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    url) echo "$URL" ;;
    *) echo "usage: $0 up|down|status|url" >&2; exit 2 ;;
  esac
}
