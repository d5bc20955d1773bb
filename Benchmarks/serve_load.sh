#!/usr/bin/env bash
# Load benchmark of `glimpse serve` (loopback only, bounded in time): text search at 16 concurrent connections
# over a library of >= 100k vectors, with a ViT-B/32-shaped text tower (random weights). Prints requests/s and
# p50/p99 latency for (1) a different query on every request (every request runs the text encoder) and
# (2) one repeated query (served from the embedding cache).
# (3) distinct queries sent open-loop at half the rate (1) reached (`glimpse-bench load`), p50/p99 from each
# request's scheduled start.
#   [PRECISION=auto|fp32|int8] Benchmarks/serve_load.sh [VECTORS=100000] [DURATION=10s]   needs wrk (Debian), numpy
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-100000}"; duration="${2:-10s}"
command -v wrk >/dev/null || { echo "serve_load: wrk not installed (apt-get install wrk)"; exit 1; }
swift build -c release --product glimpse ${SCRATCH:+--scratch-path "$SCRATCH"} >/dev/null
swift build -c release --product glimpse-bench ${SCRATCH:+--scratch-path "$SCRATCH"} >/dev/null
binary="$(swift build -c release ${SCRATCH:+--scratch-path "$SCRATCH"} --show-bin-path)/glimpse"
work="${GLIMPSE_BENCH_DIR:-/tmp/glimpse-serve-bench}"
read -r model library < <(python3 Benchmarks/make_serve_library.py "$binary" "$work" "$count")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$binary" serve --library "$library" --model "$model" --precision "${PRECISION:-auto}" --host 127.0.0.1 --port "$port" --log-level warning &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 900); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
info=$(curl -sf "http://127.0.0.1:$port/healthz")
echo "library: $info"
report() {  # name, wrk output
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$2")
  p50=$(awk '$1=="50%" {print $2}' <<<"$2"); p99=$(awk '$1=="99%" {print $2}' <<<"$2")
  printf '%-34s %10s req/s   p50 %8s   p99 %8s\n' "$1" "$rps" "$p50" "$p99"
}
curl -sf "http://127.0.0.1:$port/api/search?q=warm+up" >/dev/null
out=$(timeout 120 wrk -t2 -c16 -d"$duration" --latency -s Benchmarks/serve_queries.lua "http://127.0.0.1:$port")
grep -E "Non-2xx|Socket errors" <<<"$out" || true
report "text search, distinct queries" "$out"
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
out=$(timeout 120 wrk -t2 -c16 -d"$duration" --latency "http://127.0.0.1:$port/api/search?q=a+dog+on+the+beach&limit=30")
grep -E "Non-2xx|Socket errors" <<<"$out" || true
report "text search, one cached query" "$out"
half=$(python3 -c "print(round($rps / 2, 1))")
seconds="${duration%s}"
bench="$(dirname "$binary")/glimpse-bench"
echo "open loop at $half req/s (half of $rps): $(timeout $((seconds + 30)) "$bench" load --port "$port" --rate "$half" --seconds "$seconds")"
