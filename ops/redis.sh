#!/usr/bin/env bash
# Makes `redis-server` and `redis-cli` available for the multi-node tests (Debian's
# `redis-server` package). Idempotent: does nothing when redis-server is already on PATH. The
# package's own service is kept from starting: the tests start their own Redis processes, each
# on a free port with no persistence, so they can stop and restart them.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    exit 0
fi

as_root=()
if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "ops/redis.sh: redis-server is missing and installing it needs root (or passwordless sudo):" >&2
        echo "    apt-get install --no-install-recommends redis-server" >&2
        exit 1
    fi
fi

# No service start during installation (containers have no init; hosts should not get a
# Redis on 6379 as a side effect of running the tests).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    own_policy=1
fi
trap 'if ((own_policy)); then "${as_root[@]}" rm -f "$policy"; fi' EXIT

export DEBIAN_FRONTEND=noninteractive
install() { "${as_root[@]}" apt-get install -y --no-install-recommends redis-server >/dev/null; }
if ! install 2>/dev/null; then
    echo "== redis: apt-get update"
    "${as_root[@]}" apt-get update -qq >/dev/null
    install
fi
echo "== redis: $(redis-server --version)"
