#!/usr/bin/env bash
# Media upload throughput over loopback: starts a release `confab` on a fresh data dir,
# registers a user, and uploads fresh 50 MB "video" files (an MP4 `ftyp` box followed by random
# bytes, so every run takes the full path: stream, hash, fsync, rename, record) with curl.
#
#   cargo build --release -p confab-gateway && benches/media_upload.sh [size_mb] [runs]
set -euo pipefail
SIZE_MB=${1:-50}
RUNS=${2:-3}
BIN=${CONFAB_BIN:-target/release/confab}
PORT=${PORT:-18089}
DIR=$(mktemp -d)
CONFAB_LISTEN=127.0.0.1:$PORT CONFAB_DATA_DIR=$DIR/data CONFAB_LOG=warn "$BIN" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf -H 'Content-Type: application/json' \
  -d '{"username":"bench","password":"correct horse battery","display_name":"bench"}' \
  "http://127.0.0.1:$PORT/api/auth/register" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')
for i in $(seq "$RUNS"); do
  FILE=$DIR/video-$i.mp4
  printf '\x00\x00\x00\x10ftypisom\x00\x00\x00\x00' >"$FILE"
  head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >>"$FILE"
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: application/octet-stream" -X POST -T "$FILE" \
    -w "run $i: %{size_upload} bytes in %{time_total} s = %{speed_upload} B/s\n" \
    "http://127.0.0.1:$PORT/api/media?kind=video&file_name=video-$i.mp4" |
    awk '{printf "%s (%.1f MB/s)\n", $0, $(NF-1)/1e6}'
  rm -f "$FILE"
done
