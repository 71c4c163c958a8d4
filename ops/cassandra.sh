#!/usr/bin/env bash
# A real CQL database for the tests of the scylla store backend: one Apache Cassandra 5.0 node on
# 127.0.0.1, run from Maven Central artifacts with Java 17 (ScyllaDB and Docker cannot run here).
#
#   ops/cassandra.sh fetch            download Cassandra and its dependencies (once, into a cache)
#   ops/cassandra.sh start [--no-wait]  start the node in the background (ok if already running),
#                                     then wait until CQL answers (unless --no-wait)
#   ops/cassandra.sh wait             wait until CQL answers (after start --no-wait)
#   ops/cassandra.sh stop             stop the node and wait for it to exit
#   ops/cassandra.sh status           exit 0 when CQL answers, 3 otherwise
#
# Environment (all optional):
#   CONFAB_CACHE_DIR          cache root (default ~/.cache/confab); jars go to
#                             $CONFAB_CACHE_DIR/cassandra-<version>/lib
#   CONFAB_CASSANDRA_VERSION  default 5.0.8
#   CONFAB_CASSANDRA_RUN_DIR  config, data, logs and pid file (default /tmp/confab-cassandra)
#   CONFAB_CASSANDRA_PORT     CQL port (default 9042); CONFAB_CASSANDRA_STORAGE_PORT (7000)
#   CONFAB_CASSANDRA_HEAP     JVM heap (default 2G: every test keyspace keeps ~20 tables of
#                             schema and memtable state on the heap; 1G ran out after a few
#                             hundred keyspaces in one long-lived node)
#   CONFAB_CASSANDRA_TIMEOUT  seconds to wait for CQL (default 180)
#   CONFAB_CASSANDRA_KEEP_DATA=1  keep the data of the previous run (default: start empty)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
TEMPLATES="$HERE/cassandra"
VERSION="${CONFAB_CASSANDRA_VERSION:-5.0.8}"
CACHE_ROOT="${CONFAB_CACHE_DIR:-${HOME:-/root}/.cache/confab}"
LIB="$CACHE_ROOT/cassandra-$VERSION/lib"
RUN_DIR="${CONFAB_CASSANDRA_RUN_DIR:-/tmp/confab-cassandra}"
CQL_PORT="${CONFAB_CASSANDRA_PORT:-9042}"
STORAGE_PORT="${CONFAB_CASSANDRA_STORAGE_PORT:-7000}"
HEAP="${CONFAB_CASSANDRA_HEAP:-2G}"
TIMEOUT="${CONFAB_CASSANDRA_TIMEOUT:-180}"
PID_FILE="$RUN_DIR/cassandra.pid"
START_FILE="$RUN_DIR/started-at"
LOG="$RUN_DIR/system.log"
OUT="$RUN_DIR/stdout.log"

say() { echo "cassandra: $*" >&2; }
die() {
    say "$*"
    exit 1
}

log_tail() {
    for f in "$LOG" "$OUT"; do
        if [[ -s "$f" ]]; then
            echo "---- last lines of $f" >&2
            tail -n 40 "$f" >&2
        fi
    done
}

# Java 17 exactly: Cassandra 5.0 installs a SecurityManager, which JDK 24+ refuses, and its
# module flags below are the ones of conf/jvm17-server.options.
find_java() {
    local candidates=()
    [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
    candidates+=("$(command -v java || true)")
    for d in /usr/lib/jvm/*17* /usr/lib/jvm/*-17-* /opt/java/*17*; do
        [[ -x "$d/bin/java" ]] && candidates+=("$d/bin/java")
    done
    local j
    for j in "${candidates[@]}"; do
        [[ -n "$j" && -x "$j" ]] || continue
        if "$j" -version 2>&1 | head -n 1 | grep -Eq '"17(\.|")'; then
            echo "$j"
            return 0
        fi
    done
    return 1
}

fetched() { [[ -f "$LIB/.complete" && -f "$LIB/cassandra-all-$VERSION.jar" ]]; }

cmd_fetch() {
    if fetched; then
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    local java
    java="$(find_java)" || die "Java 17 not found (apt-get install openjdk-17-jdk-headless)"
    local tmp="$LIB.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    say "fetching Cassandra $VERSION and its dependencies into $LIB"
    local t0=$SECONDS
    # -q: quiet. An ERROR line about ${jmc5.path} may appear; it is harmless.
    if ! JAVA_HOME="$(dirname "$(dirname "$java")")" mvn -q -B -f "$TEMPLATES/pom.xml" \
        -Dcassandra.version="$VERSION" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
        cat "$tmp.log" >&2
        rm -rf "$tmp" "$tmp.log"
        die "mvn could not fetch Cassandra $VERSION"
    fi
    [[ -f "$tmp/cassandra-all-$VERSION.jar" ]] || die "mvn finished but cassandra-all-$VERSION.jar is missing"
    touch "$tmp/.complete"
    rm -rf "$LIB" "$tmp.log"
    mv "$tmp" "$LIB"
    say "fetched $(find "$LIB" -name '*.jar' | wc -l) jars in $((SECONDS - t0)) s"
}

# The pid of the node this script started, if it is still alive.
running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q CassandraDaemon || return 1
    echo "$pid"
}

# A real CQL probe: send an OPTIONS frame (protocol v4) and expect a SUPPORTED response
# (response version byte 0x84, opcode 0x06).
cql_answers() {
    local reply
    reply="$(timeout 3 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "\x04\x00\x00\x00\x05\x00\x00\x00\x00" >&3
        head -c 5 <&3 | od -An -tx1
    ' _ "$CQL_PORT" 2>/dev/null || true)"
    [[ "$(echo $reply)" == "84 00 00 00 06" ]]
}

cmd_start() {
    local wait=1
    [[ "${1:-}" == "--no-wait" ]] && wait=0
    if pid="$(running_pid)"; then
        say "already running (pid $pid)"
        if ((wait)); then cmd_wait; fi
        return 0
    fi
    if cql_answers; then
        say "a CQL server not started by this script already answers on 127.0.0.1:$CQL_PORT; using it"
        return 0
    fi
    cmd_fetch
    local java
    java="$(find_java)" || die "Java 17 not found (Cassandra 5.0 needs 17; JDK 24+ refuses its SecurityManager)"
    mkdir -p "$RUN_DIR"
    if [[ "${CONFAB_CASSANDRA_KEEP_DATA:-0}" != 1 ]]; then
        rm -rf "$RUN_DIR/data"
    fi
    mkdir -p "$RUN_DIR/data"
    rm -f "$LOG" "$OUT"
    sed -e "s/@CQL_PORT@/$CQL_PORT/g" -e "s/@STORAGE_PORT@/$STORAGE_PORT/g" \
        "$TEMPLATES/cassandra.yaml" >"$RUN_DIR/cassandra.yaml"
    cp "$TEMPLATES/logback.xml" "$RUN_DIR/logback.xml"
    local jamm
    jamm="$(find "$LIB" -maxdepth 1 -name 'jamm-*.jar' | head -n 1)"
    [[ -n "$jamm" ]] || die "no jamm jar in $LIB"
    local opts=(
        -Xms"$HEAP" -Xmx"$HEAP" -Xss256k -XX:+UseG1GC
        -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="$RUN_DIR" -XX:+ExitOnOutOfMemoryError
        -javaagent:"$jamm"
        -Djdk.attach.allowAttachSelf=true
        # conf/jvm17-server.options of Cassandra 5.0
        --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
        --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
        --add-exports java.sql/java.sql=ALL-UNNAMED
        --add-exports java.base/java.lang.ref=ALL-UNNAMED
        --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
        --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
        --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
        --add-opens java.base/java.lang.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
        --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
        --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
        --add-opens java.base/jdk.internal.math=ALL-UNNAMED
        --add-opens java.base/jdk.internal.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
        --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
        --add-opens java.base/sun.nio.ch=ALL-UNNAMED
        --add-opens java.base/java.io=ALL-UNNAMED
        --add-opens java.base/java.lang.reflect=ALL-UNNAMED
        --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
        --add-opens java.base/java.lang=ALL-UNNAMED
        --add-opens java.base/java.util=ALL-UNNAMED
        -Dio.netty.tryReflectionSetAccessible=true
        -Dcassandra-foreground=yes
        -Dcassandra.config="file://$RUN_DIR/cassandra.yaml"
        -Dcassandra.storagedir="$RUN_DIR/data"
        -Dcassandra.logdir="$RUN_DIR"
        -Dlogback.configurationFile="$RUN_DIR/logback.xml"
        # A throw-away single node: no gossip settling, no fsync of system tables.
        -Dcassandra.skip_wait_for_gossip_to_settle=0
        -Dcassandra.unsafesystem=true
        -Dcassandra.ring_delay_ms=100
    )
    # setsid: the node outlives the shell that started it (e.g. a test script's subshell).
    setsid "$java" "${opts[@]}" -cp "$LIB/*" org.apache.cassandra.service.CassandraDaemon \
        >"$OUT" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    date +%s.%N >"$START_FILE"
    say "starting Cassandra $VERSION (pid $!) on 127.0.0.1:$CQL_PORT, run dir $RUN_DIR"
    if ((wait)); then cmd_wait; fi
}

cmd_wait() {
    local t0
    t0="$(cat "$START_FILE" 2>/dev/null || date +%s.%N)"
    local deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if grep -q "Starting listening for CQL clients" "$LOG" 2>/dev/null && cql_answers; then
            say "CQL answers on 127.0.0.1:$CQL_PORT ($(elapsed "$t0") s after start)"
            return 0
        fi
        if ! running_pid >/dev/null; then
            if cql_answers; then
                return 0
            fi
            log_tail
            die "the node exited during start-up"
        fi
        sleep 1
    done
    log_tail
    die "CQL did not answer on 127.0.0.1:$CQL_PORT within $TIMEOUT s"
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        say "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 60; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE"
            say "stopped (pid $pid)"
            return 0
        fi
        sleep 0.5
    done
    say "pid $pid ignored SIGTERM for 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    rm -f "$PID_FILE"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        if cql_answers; then
            echo "running (pid $pid), CQL answers on 127.0.0.1:$CQL_PORT"
            return 0
        fi
        echo "starting (pid $pid), CQL does not answer yet on 127.0.0.1:$CQL_PORT"
        return 3
    fi
    if cql_answers; then
        echo "not started by this script, but a CQL server answers on 127.0.0.1:$CQL_PORT"
        return 0
    fi
    echo "stopped"
    return 3
}

case "${1:-}" in
fetch) cmd_fetch ;;
start) cmd_start "${2:-}" ;;
wait) cmd_wait ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
    sed -n '2,22p' "$0" >&2
    exit 2
    ;;
esac
