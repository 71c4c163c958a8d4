#!/usr/bin/env bash
# The whole test suite: what README.md calls "the test command" and what .ci/run runs.
# Validates ops/ (ops/check.sh), builds once (dev profile), then runs every crate's unit
# tests, the storage conformance suite (against the embedded store and, through
# ops/cassandra.sh, a real Cassandra node for the scylla backend) and the black-box tests in
# tests/ against the real `confab` binary; then the API fuzzer (ops/schemathesis.sh,
# CONFAB_SKIP_FUZZ=1 skips it).
#
# Cassandra starts in the background before the build, so its start-up (and, on a fresh
# machine, its download) overlaps compilation; it is stopped on exit unless it was already
# running. CONFAB_SKIP_CQL=1 skips it (the scylla tests then print SKIPPED and pass).
set -euo pipefail
cd "$(dirname "$0")/.."

# Alert/recording rules, dashboard and deployment files first: seconds, and no service needed.
echo "== ops: validate ops/ (rules, dashboard, deployment files)"
ops/check.sh

# Redis for the multi-node tests (each test starts its own redis-server on a free port).
echo "== redis: make sure redis-server is installed"
ops/redis.sh

cassandra_pid=""
stop_cassandra=0
if [[ "${CONFAB_SKIP_CQL:-0}" != 1 ]]; then
    if ops/cassandra.sh status >/dev/null 2>&1; then
        echo "== cassandra: already running, leaving it running"
    else
        stop_cassandra=1
        echo "== cassandra: starting in the background"
        mkdir -p target
        ops/cassandra.sh start >target/cassandra-start.log 2>&1 &
        cassandra_pid=$!
    fi
fi

cleanup() {
    if [[ -n "$cassandra_pid" ]]; then
        kill "$cassandra_pid" 2>/dev/null || true
        wait "$cassandra_pid" 2>/dev/null || true
    fi
    if ((stop_cassandra)); then
        ops/cassandra.sh stop || true
    fi
}
trap cleanup EXIT

echo "== build"
cargo build --workspace --all-targets

if [[ "${CONFAB_SKIP_CQL:-0}" != 1 ]]; then
    if [[ -n "$cassandra_pid" ]]; then
        echo "== cassandra: waiting for CQL"
        if ! wait "$cassandra_pid"; then
            cassandra_pid=""
            cat target/cassandra-start.log >&2
            echo "cassandra did not start; set CONFAB_SKIP_CQL=1 to test without it" >&2
            exit 1
        fi
        cassandra_pid=""
        cat target/cassandra-start.log
    fi
    export CONFAB_TEST_CQL="${CONFAB_TEST_CQL:-127.0.0.1:${CONFAB_CASSANDRA_PORT:-9042}}"
    export CONFAB_REQUIRE_CQL=1
fi

echo "== test"
cargo test --workspace --all-targets "$@"

# The API fuzzer against the debug binary built above: every answer must match the spec.
if [[ "${CONFAB_SKIP_FUZZ:-0}" != 1 ]]; then
    echo "== fuzz: the REST API against its OpenAPI spec (CONFAB_SKIP_FUZZ=1 skips)"
    ops/schemathesis.sh
fi
