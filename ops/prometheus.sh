#!/usr/bin/env bash
# Makes `promtool` available (Debian's `prometheus` package ships it), without starting the
# Prometheus daemon: only the tool is wanted here.
set -euo pipefail
exec "$(dirname "$0")/apt-tool.sh" prometheus prometheus promtool
