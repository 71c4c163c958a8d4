#!/usr/bin/env bash
# Load over several confab nodes sharing one Redis and one CQL keyspace (docs/PERFORMANCE.md,
# "Scale-out: 1 node vs 2 nodes").
#
#   benches/cluster_load.sh NODES [confab-load scenario and options...]
#   e.g. benches/cluster_load.sh 2 fanout --group-size 50 --groups 4 --rate 400 --duration-secs 15
#
# Needs: release builds of confab and confab-load (cargo build --release -p confab-gateway
# -p confab-benches), redis-server (ops/redis.sh), a CQL node on $CQL (ops/cassandra.sh start).
# Starts a fresh Redis and NODES nodes on a fresh keyspace, provisions users, runs confab-load
# with sessions spread round-robin over the nodes (--url a,b), prints the CPU seconds each
# process used during the run, then stops everything and drops nothing else.
set -euo pipefail

NODES=${1:?usage: cluster_load.sh NODES scenario [options]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/target/release
CQL=${CQL:-127.0.0.1:9042}
USERS=${USERS:-2000}
BASE_PORT=${BASE_PORT:-18100}
REDIS_PORT=${REDIS_PORT:-16390}
RUN=$(mktemp -d /tmp/confab-cluster-load.XXXXXX)
KEYSPACE=load_$(date +%s)

for b in confab confab-load; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b: cargo build --release -p confab-gateway -p confab-benches" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "redis-server missing: ops/redis.sh" >&2; exit 2; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN" \
  >"$RUN/redis.log" 2>&1 &
pids+=($!)
REDIS_PID=$!

export CONFAB_LOG=warn
export CONFAB_STORAGE_BACKEND=scylla
export CONFAB_STORAGE_SCYLLA_CONTACT_POINTS=$CQL
export CONFAB_STORAGE_SCYLLA_KEYSPACE=$KEYSPACE
export CONFAB_STORAGE_SCYLLA_CONSISTENCY=one
export CONFAB_CLUSTER_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/
export CONFAB_AUTH_JWT_SECRET=cluster-load-secret-0123456789abcdefgh
# The load generator's senders stay under the per-socket frame budget; the per-user and
# per-IP budgets are for people, not for one load generator on one address.
export CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN=1000000
export CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN=100000000
export CONFAB_RATE_LIMIT_TYPING_PER_IP_PER_MIN=100000000

CONFAB_DATA_DIR=$RUN/provision "$BIN/confab" admin provision --users "$USERS" --prefix cl \
  --out "$RUN/users.json" --token-ttl-secs 86400 >/dev/null

urls=()
node_pids=()
for i in $(seq 0 $((NODES - 1))); do
  port=$((BASE_PORT + i))
  CONFAB_DATA_DIR=$RUN/node$i CONFAB_LISTEN=127.0.0.1:$port "$BIN/confab" >"$RUN/node$i.log" 2>&1 &
  pids+=($!)
  node_pids+=($!)
  urls+=("http://127.0.0.1:$port")
done
for u in "${urls[@]}"; do
  for _ in $(seq 300); do
    curl -sf "$u/readyz" >/dev/null && break
    sleep 0.1
  done
done
# Every node must see every other before the run, or chats would move mid-run.
for u in "${urls[@]}"; do
  for _ in $(seq 100); do
    n=$(curl -sf "$u/readyz" | grep -o '"nodes":\[[^]]*\]' | grep -o '[0-9a-f-]\{36\}' | wc -l)
    [[ $n -ge $NODES ]] && break
    sleep 0.1
  done
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CASS_PID=$(pgrep -f CassandraDaemon | head -1 || true)
watched=("${node_pids[@]}" "$REDIS_PID" ${CASS_PID:+$CASS_PID})
before=()
for p in "${watched[@]}"; do before+=("$(ticks "$p")"); done
t0=$(date +%s.%N)

url_list=$(IFS=,; echo "${urls[*]}")
"$BIN/confab-load" "$@" --url "$url_list" --users-file "$RUN/users.json" --json "$RUN/result.json" \
  || echo "confab-load exited with $?" >&2

t1=$(date +%s.%N)
wall=$(echo "$t1 - $t0" | bc -l)
echo "--- CPU during the run (${wall} s wall): cores busy on average"
for idx in "${!watched[@]}"; do
  p=${watched[$idx]}
  after=$(ticks "$p")
  name=$(tr -d '\0' <"/proc/$p/cmdline" | cut -c1-40)
  [[ $p == "$REDIS_PID" ]] && name=redis-server
  [[ $p == "${CASS_PID:-}" ]] && name=cassandra
  printf '%-40s %.2f\n' "$name (pid $p)" "$(echo "(${after} - ${before[$idx]}) / 100 / $wall" | bc -l)"
done
echo "--- result JSON: $RUN/result.json; logs: $RUN/"
