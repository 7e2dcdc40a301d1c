#!/usr/bin/env bash
# Load-tests HttpServer with wrk on loopback: keep-alive GET of a 13-byte body.
# Usage: bench/http/run-wrk.sh [BUILD_DIR] [WORKER_THREADS] [DURATION] [CONNECTIONS]
set -euo pipefail
build=${1:-build}
workers=${2:-0}
duration=${3:-10s}
connections=${4:-64}
out=$(mktemp)
"$build/bin/meridian-http-bench-server" "$workers" >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
  grep -q '^port ' "$out" && break
  sleep 0.05
done
port=$(awk '/^port /{print $2}' "$out")
[ -n "$port" ] || { echo "server did not start" >&2; exit 1; }
echo "== HttpServer, $workers worker thread(s) (0 = main thread), $connections connections, $duration"
wrk -t 1 -c "$connections" -d "$duration" --latency "http://127.0.0.1:$port/small"
