#!/usr/bin/env bash
# Confab vs Centrifugo, one load client, the same scenarios (docs/PERFORMANCE.md, "Confab vs
# Centrifugo"; benches/README.md, "Confab vs Centrifugo").
#
#   benches/compare_centrifugo.sh         # full ladders: ~5-7 min of measuring on 2 cores (each
#                                         # run ~14 s; a server stops at its first failing rate)
#   DURATION=3 WARMUP=1 DRAIN=5 LADDER_G2="5000 10000" LADDER_G10="5000 10000" \
#     LADDER_G100="2000 4000" benches/compare_centrifugo.sh          # smoke run, ~2-3 min
#
# 1. Installs Centrifugo $CF_VERSION with `go install` (Go module proxy) into $CF_DIR, unless the
#    binary there already is that version (`go version -m`).
# 2. Builds release `confab` and `confab-load`.
# 3. Takes the lock $LOCK (flock; other benchmarks on this machine take it too) for everything
#    that measures, starts a fresh Confab (embedded store, fresh data dir, CONFAB_LOG=warn,
#    users provisioned, the per-user / per-IP send budgets raised: they are for people, not for
#    one load client on four addresses; the per-socket limit of 50 frames/s stays) and Centrifugo
#    (memory engine, namespace `chat` with history 1000 / 600 s, JSON config checked for unknown
#    keys), each on a free port.
# 4. For each workload G in $SCENARIOS: K = SOCKETS_G<G> / G groups of G, `confab-load fanout`
#    at each rate of LADDER_G<G> (msgs/s in total), Confab then Centrifugo at the same rate, then
#    the next rate. A run passes with exit 0 (nothing lost, drained, no gaps/duplicates/errors)
#    and delivery p99 < $P99_MAX_MS ms; a server stops climbing at its first failing rate.
# 5. Prints a markdown table (highest passing rate per workload and server, and the rate that
#    failed) and writes it, with every run's row, to $OUT. Both servers are stopped at exit.
#
# Environment (defaults): DURATION=10 WARMUP=2 DRAIN=10 (seconds per run), COOLDOWN=2,
# SCENARIOS="2 10 100", SOCKETS_G2=2000 SOCKETS_G10=1000 SOCKETS_G100=400,
# LADDER_G2="5000 7500 10000 15000 20000 30000 40000 60000 80000",
# LADDER_G10="5000 7500 10000 15000 20000 30000 40000",
# LADDER_G100="2000 3000 4000 6000 8000 12000 16000", P99_MAX_MS=500, CLIENT_THREADS=1, SIZE=64,
# CF_VERSION=v6.9.1, CF_DIR=~/.cache/confab/centrifugo, LOCK=/tmp/confab-bench.lock,
# OUT=<run dir>/table.md, SKIP_BUILD=1 to use the binaries already in target/release.
# Senders aim at <= 40 msgs/s each (confab-load's default; Confab allows 50/s per socket), so a
# workload's highest useful rate is 40 x its sockets.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/target/release
CF_VERSION=${CF_VERSION:-v6.9.1}
CF_DIR=${CF_DIR:-$HOME/.cache/confab/centrifugo}
CF_BIN=$CF_DIR/bin/centrifugo
LOCK=${LOCK:-/tmp/confab-bench.lock}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
DRAIN=${DRAIN:-10}
COOLDOWN=${COOLDOWN:-2}
SCENARIOS=${SCENARIOS:-"2 10 100"}
SOCKETS_G2=${SOCKETS_G2:-2000}
SOCKETS_G10=${SOCKETS_G10:-1000}
SOCKETS_G100=${SOCKETS_G100:-400}
LADDER_G2=${LADDER_G2:-"5000 7500 10000 15000 20000 30000 40000 60000 80000"}
LADDER_G10=${LADDER_G10:-"5000 7500 10000 15000 20000 30000 40000"}
LADDER_G100=${LADDER_G100:-"2000 3000 4000 6000 8000 12000 16000"}
P99_MAX_MS=${P99_MAX_MS:-500}
CLIENT_THREADS=${CLIENT_THREADS:-1}
SIZE=${SIZE:-64}
CF_SECRET=compare-centrifugo-secret-0123456789abcdef

log() { echo "[compare $(date +%H:%M:%S)] $*" >&2; }
die() { log "$*"; exit 2; }

command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
command -v curl >/dev/null || die "curl is needed"
command -v flock >/dev/null || die "flock is needed (util-linux)"

# ---- 1. Centrifugo ---------------------------------------------------------------------------
cf_installed() { # the binary's module version (go version -m), or the marker without go
  [[ -x $CF_BIN ]] || return 1
  if command -v go >/dev/null; then
    go version -m "$CF_BIN" 2>/dev/null |
      grep -qE "^[[:space:]]+mod[[:space:]]+github.com/centrifugal/centrifugo/v6[[:space:]]+$CF_VERSION([[:space:]]|$)"
  else
    [[ $(cat "$CF_DIR/VERSION" 2>/dev/null) == "$CF_VERSION" ]]
  fi
}
if ! cf_installed; then
  command -v go >/dev/null || die "go is needed to install Centrifugo"
  log "installing Centrifugo $CF_VERSION into $CF_DIR (go install; a few minutes)"
  mkdir -p "$CF_DIR"
  GOPATH=$CF_DIR GOFLAGS=-modcacherw GOCACHE=$CF_DIR/gocache \
    go install "github.com/centrifugal/centrifugo/v6@$CF_VERSION"
  # Only the binary is needed: drop the module and build caches (~1.8 GB).
  rm -rf "$CF_DIR/pkg" "$CF_DIR/gocache"
  cf_installed || die "Centrifugo $CF_VERSION not found in $CF_BIN after go install"
  echo "$CF_VERSION" >"$CF_DIR/VERSION"
fi

# ---- 2. Builds -------------------------------------------------------------------------------
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building release confab and confab-load"
  (cd "$ROOT" && cargo build --release -p confab-gateway -p confab-benches \
    --bin confab --bin confab-load)
fi
for b in confab confab-load; do
  [[ -x $BIN/$b ]] || die "missing $BIN/$b"
done

# ---- 3. Servers (under the lock) -------------------------------------------------------------
RUN=$(mktemp -d /tmp/confab-vs-centrifugo.XXXXXX)
OUT=${OUT:-$RUN/table.md}
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$RUN/confab-data" "$RUN/confab" "$RUN/confab-load"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

exec 9>"$LOCK"
if ! flock -n 9; then
  log "waiting for $LOCK (another benchmark is running)"
  flock 9
fi
log "holding $LOCK; run dir $RUN"
# Private copies: a build in the shared target/ during the ladder must not swap binaries.
cp "$BIN/confab" "$BIN/confab-load" "$RUN/"
BIN=$RUN
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() { # URL PID NAME
  local i
  for i in $(seq 300); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited; see its log in $RUN"
    sleep 0.1
  done
  die "$3 not answering $1 after 30 s; see its log in $RUN"
}

max_sockets=0
for g in $SCENARIOS; do
  v=SOCKETS_G$g
  [[ -n ${!v:-} ]] || die "no SOCKETS_G$g for scenario G=$g"
  v=LADDER_G$g
  [[ -n ${!v:-} ]] || die "no LADDER_G$g for scenario G=$g"
  v=SOCKETS_G$g
  ((${!v} > max_sockets)) && max_sockets=${!v}
done

CONFAB_PORT=$(free_port)
export CONFAB_DATA_DIR=$RUN/confab-data CONFAB_LOG=warn CONFAB_LISTEN=127.0.0.1:$CONFAB_PORT
export CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN=1000000
export CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN=100000000
log "provisioning $max_sockets Confab users"
"$BIN/confab" admin provision --users "$max_sockets" --prefix cmp --out "$RUN/users.json" \
  --token-ttl-secs 86400 >"$RUN/provision.log" 2>&1 9>&- || die "provision failed: $RUN/provision.log"
"$BIN/confab" >"$RUN/confab.log" 2>&1 9>&- &
CONFAB_PID=$!
pids+=("$CONFAB_PID")
wait_http "http://127.0.0.1:$CONFAB_PORT/readyz" "$CONFAB_PID" confab

CF_PORT=$(free_port)
cat >"$RUN/centrifugo.json" <<EOF
{
  "http_server": { "address": "127.0.0.1", "port": $CF_PORT },
  "log": { "level": "warn" },
  "engine": { "type": "memory" },
  "health": { "enabled": true },
  "usage_stats": { "disabled": true },
  "client": {
    "token": { "hmac_secret_key": "$CF_SECRET" },
    "ping_interval": "120s"
  },
  "channel": {
    "namespaces": [
      {
        "name": "chat",
        "allow_subscribe_for_client": true,
        "allow_publish_for_subscriber": true,
        "history_size": 1000,
        "history_ttl": "600s"
      }
    ]
  }
}
EOF
(cd "$RUN" && "$CF_BIN" checkconfig -c centrifugo.json) >"$RUN/centrifugo-check.log" 2>&1 9>&- ||
  die "centrifugo checkconfig failed: $RUN/centrifugo-check.log"
(cd "$RUN" && exec "$CF_BIN" -c centrifugo.json) >"$RUN/centrifugo.log" 2>&1 9>&- &
CF_PID=$!
pids+=("$CF_PID")
wait_http "http://127.0.0.1:$CF_PORT/health" "$CF_PID" centrifugo
if grep -q 'unknown key' "$RUN/centrifugo.log"; then
  die "centrifugo ignored config keys: $(grep 'unknown key' "$RUN/centrifugo.log")"
fi
log "confab pid $CONFAB_PID on :$CONFAB_PORT, centrifugo pid $CF_PID on :$CF_PORT"

# ---- 4. Ladders ------------------------------------------------------------------------------
# workload server rate pass msgs/s deliveries/s lost p50 p99 srv_cores cli_cores send_lag_p99 load why
ROWS=$RUN/runs.tsv
: >"$ROWS"

fmt_int() { printf "%'d" "$1" 2>/dev/null || echo "$1"; }

run_one() { # G K RATE SERVER -> appends a row, returns 0 when it passed
  local g=$1 k=$2 rate=$3 server=$4 json rc=0 args load
  load=$(cut -d' ' -f1 /proc/loadavg)
  json=$RUN/fanout-g$g-$server-$rate.json
  if [[ $server == confab ]]; then
    args=(--url "http://127.0.0.1:$CONFAB_PORT" --users-file "$RUN/users.json"
      --server-pid "$CONFAB_PID")
  else
    args=(--server centrifugo --centrifugo-secret "$CF_SECRET" --url "http://127.0.0.1:$CF_PORT"
      --server-pid "$CF_PID")
  fi
  log "G=$g K=$k rate $rate: $server"
  timeout $((WARMUP + DURATION + DRAIN + 240)) "$BIN/confab-load" fanout --group-size "$g" \
    --groups "$k" --rate "$rate" --duration-secs "$DURATION" --warmup-secs "$WARMUP" \
    --drain-secs "$DRAIN" --threads "$CLIENT_THREADS" --size "$SIZE" "${args[@]}" \
    --json "$json" >"${json%.json}.log" 2>&1 9>&- || rc=$?
  if [[ ! -s $json ]]; then
    printf '%s\t%s\t%s\tFAIL\t-\t-\t-\t-\t-\t-\t-\t-\t%s\tconfab-load exit %s (%s)\n' "G=$g" \
      "$server" "$rate" "$load" "$rc" "${json%.json}.log" >>"$ROWS"
    return 1
  fi
  local f
  f=$(jq -r '[.throughput.messages_per_sec, .throughput.deliveries_per_sec,
      .counts.deliveries_lost, (.latency_us.delivery.p50 // -1), (.latency_us.delivery.p99 // -1),
      (.server.cores_busy_window // -1), (.client.cores_busy_window // -1),
      (.latency_us.send_lag.p99 // -1), .errors.total,
      ([.errors | to_entries[] | select(.key != "total") | "\(.key) x\(.value)"] | join("; "))]
      | @tsv' "$json")
  local mps dps lost p50 p99 sc cc lag nerr errs why="" pass=PASS
  IFS=$'\t' read -r mps dps lost p50 p99 sc cc lag nerr errs <<<"$f"
  if ((rc != 0)); then
    pass=FAIL
    why="exit $rc"
    ((lost > 0)) && why+=", lost $lost"
    ((nerr > 0)) && why+=", errors: $errs"
  fi
  if awk -v p="$p99" -v m="$P99_MAX_MS" 'BEGIN { exit !(p < 0 || p >= m * 1000) }'; then
    pass=FAIL
    why="${why:+$why, }p99 $(awk -v p="$p99" 'BEGIN { printf "%.0f", p / 1000 }') ms"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "G=$g" "$server" "$rate" \
    "$pass" "$mps" "$dps" "$lost" "$p50" "$p99" "$sc" "$cc" "$lag" "$load" "$why" >>"$ROWS"
  log "  $pass: $dps deliveries/s, p50 $p50 us, p99 $p99 us, server $sc cores, client $cc cores ${why:+($why)}"
  [[ $pass == PASS ]]
}

for g in $SCENARIOS; do
  v=SOCKETS_G$g
  sockets=${!v}
  k=$((sockets / g))
  ((k >= 1)) || die "SOCKETS_G$g=$sockets is less than G=$g"
  v=LADDER_G$g
  confab_on=1 cf_on=1
  for rate in ${!v}; do
    ((confab_on || cf_on)) || break
    if ((confab_on)); then
      run_one "$g" "$k" "$rate" confab || confab_on=0
      sleep "$COOLDOWN"
    fi
    if ((cf_on)); then
      run_one "$g" "$k" "$rate" centrifugo || cf_on=0
      sleep "$COOLDOWN"
    fi
  done
done

# ---- 5. Table --------------------------------------------------------------------------------
END=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ms() { [[ $1 == - || $1 == -1 ]] && echo - || awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
{
  echo "Confab vs Centrifugo $CF_VERSION, fan-out over WebSocket, one confab-load client ($CLIENT_THREADS thread), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores."
  echo "Commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' + uncommitted changes')."
  echo "Per run: ${WARMUP} s warm-up + ${DURATION} s measured, drain <= ${DRAIN} s; ${SIZE}-byte message text; senders <= 40 msgs/s each."
  echo "Pass: nothing lost, no errors, delivery p99 < ${P99_MAX_MS} ms. Load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END. Wall time of the measuring part: $((END - START)) s."
  echo
  echo "| workload | server | rate msgs/s | deliveries/s | p50 ms | p99 ms | server cores | client cores | next rate (failed) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for g in $SCENARIOS; do
    v=SOCKETS_G$g
    label="G=$g, $((${!v} / g)) groups, ${!v} sockets"
    ((g == 2)) && label="G=2 (1:1), $((${!v} / g)) rooms, ${!v} sockets"
    for server in confab centrifugo; do
      best=$(awk -F'\t' -v w="G=$g" -v s="$server" '$1 == w && $2 == s && $4 == "PASS"' "$ROWS" | tail -1)
      failed=$(awk -F'\t' -v w="G=$g" -v s="$server" '$1 == w && $2 == s && $4 == "FAIL"' "$ROWS" | head -1)
      next="none (top of the ladder passed)"
      if [[ -n $failed ]]; then
        IFS=$'\t' read -r _ _ frate _ _ _ _ _ _ _ _ _ _ fwhy <<<"$failed"
        next="$(fmt_int "$frate"): $fwhy"
      fi
      if [[ -n $best ]]; then
        IFS=$'\t' read -r _ _ rate _ mps dps lost p50 p99 sc cc _ <<<"$best"
        echo "| $label | $server | $(fmt_int "$rate") | $(fmt_int "${dps%.*}") | $(ms "$p50") | $(ms "$p99") | $sc | $cc | $next |"
      else
        echo "| $label | $server | none passed | - | - | - | - | - | $next |"
      fi
    done
  done
} >"$RUN/summary.md"
{
  cat "$RUN/summary.md"
  echo
  echo "Every run:"
  echo
  echo "Send lag: how late the client's senders were against their schedule (p99); large values"
  echo "mean the client was short of CPU (other processes, or the server, took the cores)."
  echo "Load: the 1-minute load average just before the run."
  echo
  echo "| workload | server | rate msgs/s | result | msgs/s | deliveries/s | lost | p50 ms | p99 ms | server cores | client cores | send lag p99 ms | load | why |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  while IFS=$'\t' read -r w s rate pass mps dps lost p50 p99 sc cc lag load why; do
    echo "| $w | $s | $rate | $pass | $mps | $dps | $lost | $(ms "$p50") | $(ms "$p99") | $sc | $cc | $(ms "$lag") | $load | $why |"
  done <"$ROWS"
  echo
  echo "JSON and logs of every run: $RUN"
} >"$OUT"
cat "$RUN/summary.md"
log "table written to $OUT (every run's row too); JSON and logs in $RUN"
