#!/usr/bin/env bash
# The downloader alone: `glimpse index --list … --dry-run` (no model, nothing stored) against a 2,000-row list
# served from loopback with 1 ms of latency per response (glimpse-fixture-server), next to the reference
# (Benchmarks/reference_download.py: requests + a thread pool) in the same run. Release build.
#
#   bash Benchmarks/download_benchmark.sh [ROWS] [PARALLEL]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-2000}
parallel=${2:-16}
swift build -c release --product glimpse >/dev/null
swift build -c release --product glimpse-fixture-server >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/served"
# A mix of the fixture photos (2 KB to 280 KB), each under its own name.
mapfile -t sources < <(ls Tests/Fixtures/images/*.jpg Tests/Fixtures/images/*.png Tests/Fixtures/images/*.webp)
for i in $(seq 0 $((rows - 1))); do
  src=${sources[$((i % ${#sources[@]}))]}
  ln "$src" "$work/served/$i-$(basename "$src")" 2>/dev/null || cp "$src" "$work/served/$i-$(basename "$src")"
done
"$bin/glimpse-fixture-server" --root "$work/served" --latency-ms 1 > "$work/server.out" 2>/dev/null &
server=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^listening on //p' "$work/server.out")
{ echo url; for f in $(ls "$work/served"); do echo "http://127.0.0.1:$port/images/$f"; done; } > "$work/list.csv"
bytes=$(find "$work/served" -type f -printf "%s\n" | awk "{s+=\$1} END {print s}")
echo "list: $rows rows, $((bytes / 1024 / 1024)) MB, 1 ms latency, $parallel downloads in flight"
for run in 1 2; do
  rm -rf "$work/cache"
  glimpse=$(XDG_CACHE_HOME="$work/cache" "$bin/glimpse" index --list "$work/list.csv" --dry-run --allow-private-network \
    --parallel-downloads "$parallel" --connections-per-host "$parallel" --json)
  reference=$(python3 Benchmarks/reference_download.py "$work/list.csv" "$work/reference-$run" --threads "$parallel")
  python3 - "$glimpse" "$reference" <<'PY'
import json, sys
g, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"glimpse  {g['rows_per_second']:8.0f} rows/s  (fetched {g['added']}, failed {len(g['failed'])})")
print(f"requests {r['rows_per_second']:8.0f} rows/s  (fetched {r['fetched']})   ratio {g['rows_per_second'] / r['rows_per_second']:.2f}x")
PY
done
