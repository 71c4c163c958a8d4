#!/usr/bin/env bash
# Makes the commands of one Debian package available to the tests, without its service:
#   ops/apt-tool.sh PACKAGE SERVICE COMMAND...
# Idempotent: does nothing when every COMMAND is already on PATH. Installs without recommended
# packages, keeps the package's service from starting during installation (a policy-rc.d that
# refuses every start, unless the machine already has one), and stops SERVICE if a service
# manager started it anyway (systemd ignores policy-rc.d). The tests run their own processes.
set -euo pipefail

package=${1:?usage: apt-tool.sh PACKAGE SERVICE COMMAND...}
service=${2:?usage: apt-tool.sh PACKAGE SERVICE COMMAND...}
shift 2
have_all() {
    local c
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || return 1; done
}
if have_all "$@"; then
    exit 0
fi

as_root=()
if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "ops/apt-tool.sh: $* missing, and installing $package needs root (or passwordless sudo):" >&2
        echo "    apt-get install --no-install-recommends $package" >&2
        exit 1
    fi
fi

policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    own_policy=1
fi
trap 'if ((own_policy)); then "${as_root[@]}" rm -f "$policy"; fi' EXIT

export DEBIAN_FRONTEND=noninteractive
install() { "${as_root[@]}" apt-get install -y -q --no-install-recommends "$package" >/dev/null; }
if ! install 2>/dev/null; then
    echo "== $package: apt-get update"
    "${as_root[@]}" apt-get update -qq >/dev/null
    install
fi

if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    "${as_root[@]}" systemctl stop "$service" || true
    "${as_root[@]}" systemctl disable "$service" >/dev/null 2>&1 || true
fi

have_all "$@" || {
    echo "ops/apt-tool.sh: $package installed but not all of $* are on PATH" >&2
    exit 1
}
echo "== $package: installed ($*)"
