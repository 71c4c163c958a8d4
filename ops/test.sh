#!/usr/bin/env bash
# The whole test suite: what README.md calls "the test command" and what .ci/run runs.
# Builds once (dev profile), then runs every crate's unit tests, the storage conformance suite
# and the black-box tests in tests/ against the real `confab` binary.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build"
cargo build --workspace --all-targets
echo "== test"
cargo test --workspace --all-targets "$@"
