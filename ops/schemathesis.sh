#!/usr/bin/env bash
# The API fuzzer stage: schemathesis (pinned in ops/schemathesis/requirements.txt) against a
# freshly started `confab` (CONFAB_BIN, else target/debug/confab) with its own temporary data
# dir and raised rate limits, authenticated as a newly registered user, with every check on.
# Zero failures of any kind or the stage fails. ops/test.sh runs it after the cargo tests.
#
#   ops/schemathesis.sh                 # the stage (about 1 minute on 2 cores)
#   ops/schemathesis.sh --max-examples 5 --include-path /api/users/me   # extra st arguments
#   CONFAB_FUZZ_EXAMPLES=50 ops/schemathesis.sh    # examples per operation (default 50)
#   CONFAB_FUZZ_SEED=7 ops/schemathesis.sh         # another seed (default 1: reproducible)
#
# The Python virtualenv lives in ~/.cache/confab/schemathesis-venv (CONFAB_FUZZ_VENV) and is
# created once; it is reused while it holds the pinned version. Reports (JUnit, NDJSON) go to
# target/schemathesis/.
#
# Operations that end the session the run authenticates with are not fuzzed here:
# POST /api/auth/logout and DELETE /api/auth/sessions/{session_id} would revoke the token
# every other operation uses (tests/tests/auth.rs covers them).
set -euo pipefail
cd "$(dirname "$0")/.."

here=ops/schemathesis
requirements=$here/requirements.txt
pinned=$(sed -n 's/^schemathesis==//p' "$requirements")
venv=${CONFAB_FUZZ_VENV:-$HOME/.cache/confab/schemathesis-venv}
bin=${CONFAB_BIN:-target/debug/confab}
examples=${CONFAB_FUZZ_EXAMPLES:-50}
out=target/schemathesis

if [[ $("$venv/bin/schemathesis" --version 2>/dev/null || true) != *" $pinned" ]]; then
    echo "== fuzz: installing schemathesis $pinned into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
fi
[[ -x $bin ]] || { echo "ops/schemathesis.sh: $bin missing; cargo build first (or set CONFAB_BIN)" >&2; exit 1; }

tmp=$(mktemp -d)
server_pid=""
stop() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap stop EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
limit=1000000
# Only the settings the run needs; nothing of the caller's CONFAB_* leaks in.
env -i PATH="$PATH" HOME="$HOME" \
    CONFAB_LISTEN=127.0.0.1:$port CONFAB_DATA_DIR="$tmp/data" CONFAB_LOG=warn \
    CONFAB_AUTH_ACCESS_TTL_SECS=7200 CONFAB_CALLS_UDP_IPS=127.0.0.1 \
    CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN=$limit CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN=$limit \
    CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN=$limit CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN=$limit \
    CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN=$limit CONFAB_RATE_LIMIT_TYPING_PER_USER_PER_MIN=$limit \
    CONFAB_RATE_LIMIT_TYPING_PER_IP_PER_MIN=$limit \
    "$bin" >"$tmp/confab.log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/confab.log" >&2; exit 1; }
    sleep 0.2
done

token=$(curl -fsS -X POST "$base/api/auth/register" -H 'content-type: application/json' \
    -d '{"username":"fuzzer","password":"correct horse battery","display_name":"Fuzzer"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["tokens"]["access_token"])')

echo "== fuzz: schemathesis $pinned, $examples examples per operation, against $base"
mkdir -p "$out"
status=0
"$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$base/api/openapi.json" \
    --checks all --max-examples "$examples" --workers 2 --seed "${CONFAB_FUZZ_SEED:-1}" \
    --header "Authorization: Bearer $token" \
    --exclude-path /api/auth/logout --exclude-path '/api/auth/sessions/{session_id}' \
    --report junit,ndjson --report-dir "$out" --no-color "$@" || status=$?

# Client mistakes are not the operator's problem: the server must log no ERROR for any of it.
if grep -a 'ERROR' "$tmp/confab.log" >"$tmp/errors.log"; then
    echo "== fuzz: the server logged ERROR during the run:" >&2
    head -50 "$tmp/errors.log" >&2
    status=1
fi
exit "$status"
