#!/usr/bin/env bash
# Makes `redis-server` and `redis-cli` available for the multi-node tests (Debian's
# `redis-server` package), without the package's own Redis on 6379: the tests start their own
# Redis processes, each on a free port with no persistence, so they can stop and restart them.
set -euo pipefail
exec "$(dirname "$0")/apt-tool.sh" redis-server redis-server redis-server redis-cli
