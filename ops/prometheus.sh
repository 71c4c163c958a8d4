#!/usr/bin/env bash
# Makes `promtool` available (Debian's `prometheus` package ships it). Idempotent: does nothing
# when promtool is already on PATH. Installs without recommended packages (no node exporter) and
# without starting the Prometheus daemon: only the tool is wanted here.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
    exit 0
fi

as_root=()
if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "ops/prometheus.sh: promtool is missing and installing it needs root (or passwordless sudo):" >&2
        echo "    apt-get install --no-install-recommends prometheus" >&2
        exit 1
    fi
fi

# Keep the package's service from starting: a policy-rc.d that refuses every start, unless the
# machine already has one (container images usually do).
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    added_policy=1
fi
cleanup() {
    if ((added_policy)); then
        "${as_root[@]}" rm -f "$policy"
    fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1; then
    echo "== prometheus: apt-get update"
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -q --no-install-recommends prometheus >/dev/null
fi

# A service manager may have started it anyway (systemd ignores policy-rc.d): stop it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    "${as_root[@]}" systemctl stop prometheus || true
    "${as_root[@]}" systemctl disable prometheus >/dev/null 2>&1 || true
fi

command -v promtool >/dev/null 2>&1 || {
    echo "ops/prometheus.sh: prometheus installed but promtool is not on PATH" >&2
    exit 1
}
echo "== promtool: $(promtool --version 2>&1 | head -1)"
