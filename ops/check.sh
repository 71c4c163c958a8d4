#!/usr/bin/env bash
# Validates everything in ops/ that is not a test of the server itself. ops/test.sh runs it
# first; it needs no network service and takes a few seconds (plus a one-time install of
# Debian's prometheus package for promtool).
#
#  1. promtool: rules.yml (check rules), prometheus.yml (check config, loads rules.yml too),
#     rules_test.yml (unit tests of the alerts and recording rules).
#  2. The Grafana dashboard is well-formed JSON, and its queries parse (promtool, as rules).
#  3. ops/check_ops.py: every metric and label used in rules, rule tests and dashboard exists
#     in the Rust sources (or ops/metrics-pending.txt); dashboard structure and freshness;
#     Kubernetes and compose YAML; CONFAB_* variables and confab.toml keys against
#     gateway/src/config.rs and README.md; no secret values.
#  4. `kubectl kustomize ops/deploy/k8s` renders (skipped when kubectl is absent).
#  5. When a built `confab` binary exists (CONFAB_BIN, else target/debug or target/release if
#     newer than the config code), the binary itself loads every confab.toml of ops/deploy
#     (skipped otherwise: ops/test.sh runs this before it builds).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "== ops check: $*"; }

ops/prometheus.sh

step "promtool check rules"
promtool check rules ops/prometheus/rules.yml
step "promtool check config"
promtool check config ops/prometheus/prometheus.yml
step "promtool test rules"
promtool test rules ops/prometheus/rules_test.yml

step "dashboard JSON"
if command -v jq >/dev/null 2>&1; then
    jq empty ops/grafana/confab-dashboard.json
else
    python3 -m json.tool ops/grafana/confab-dashboard.json >/dev/null
fi

# A Python with PyYAML: the one on PATH, else Debian's (installing python3-yaml if needed).
py=""
for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import yaml' 2>/dev/null; then
        py=$cand
        break
    fi
done
if [[ -z $py ]]; then
    step "installing python3-yaml"
    as_root=()
    [[ $(id -u) == 0 ]] || as_root=(sudo -n)
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q python3-yaml >/dev/null 2>&1 ||
        { "${as_root[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q python3-yaml >/dev/null; }
    py=/usr/bin/python3
fi

step "metric names, labels, dashboard, deployment files, config keys"
"$py" ops/check_ops.py

step "dashboard PromQL parses (promtool)"
dash_rules=$(mktemp --suffix=.yml)
"$py" ops/check_ops.py --dashboard-rules "$dash_rules"
promtool check rules "$dash_rules" >/dev/null || { promtool check rules "$dash_rules"; rm -f "$dash_rules"; exit 1; }
rm -f "$dash_rules"
echo "   every dashboard query parses"

step "kustomize"
if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize ops/deploy/k8s >/dev/null
    echo "   ops/deploy/k8s renders"
else
    echo "   skipped: kubectl not installed (YAML still checked above)"
fi

step "confab loads the deployment configs"
bin="${CONFAB_BIN:-}"
if [[ -z $bin ]]; then
    # Only a binary built after the last change to the configuration code: a stale one could
    # reject a key the sources already know.
    for cand in target/debug/confab target/release/confab; do
        if [[ -x $cand && $cand -nt gateway/src/config.rs && $cand -nt storage/src/scylla/config.rs ]]; then
            bin=$cand
            break
        fi
    done
fi
if [[ -n $bin && -x $bin ]]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    cp ops/deploy/compose/confab.toml "$tmp/compose.toml"
    "$py" - "$tmp/k8s.toml" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open("ops/deploy/k8s/configmap.yaml"))
open(sys.argv[1], "w").write(doc["data"]["confab.toml"])
EOF
    for cfg in "$tmp"/*.toml; do
        # `admin` with no command fails *after* the configuration loaded and validated: the
        # message then starts with "confab admin:"; a bad config says "confab: ...".
        out=$(env -i PATH="$PATH" "$bin" --config "$cfg" admin 2>&1 || true)
        if ! grep -q '^confab admin:' <<<"$out"; then
            echo "$out" >&2
            echo "ops check: $bin rejects $(basename "$cfg" .toml)'s confab.toml" >&2
            exit 1
        fi
    done
    echo "   $bin accepts the compose and k8s confab.toml"
else
    echo "   skipped: no up-to-date confab binary (cargo build first, or set CONFAB_BIN)"
fi

step "ok"
