#!/usr/bin/env bash
# What one upload costs in a small library and in one of 100,000 images (release build, tiny model, loopback only):
# the median of 10 uploads of distinct images into each, timed by curl. The large library is the small one plus
# 100k synthetic rows (unit vectors) written straight into SQLite; the server catches its index up at start.
#   Benchmarks/upload_cost.sh [path/to/glimpse] [extra rows]
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/release/glimpse}"
extra="${2:-100000}"
model=Tests/Fixtures/models/clip-tiny-f32
work=$(mktemp -d /tmp/glimpse-upload-XXXXXX)
server=""
cleanup() { [ -n "$server" ] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/photos"
cp Tests/Fixtures/images/{astronaut_baseline.jpg,coffee_progressive.jpg,rocket_444.jpg,chelsea_palette.png,camera_gray.jpg} "$work/photos/"
"$binary" index --library "$work/small" --model "$model" "$work/photos" >/dev/null
cp -r "$work/small" "$work/large"
python3 - "$work/large/library.sqlite" "$extra" <<'PY'
import random, sqlite3, struct, sys, math
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
dim = db.execute("SELECT length(embedding) / 4 FROM image LIMIT 1").fetchone()[0]
gen = int(db.execute("SELECT value FROM setting WHERE key = 'generation'").fetchone()[0]) + 1
rng = random.Random(7)
def row(i):
    v = [rng.gauss(0, 1) for _ in range(dim)]; s = math.sqrt(sum(x * x for x in v))
    return (f"/nowhere/{i}.jpg", 1, 1, f"{i:016x}", 1, 1, "jpeg", 0.0, struct.pack(f"<{dim}f", *[x / s for x in v]), gen)
db.executemany("INSERT INTO image (path, size, mtimeNanoseconds, contentHash, width, height, format, indexedAt, embedding, generation) "
               "VALUES (?,?,?,?,?,?,?,?,?,?)", (row(i) for i in range(n)))
db.execute("UPDATE setting SET value = ? WHERE key = 'generation'", (str(gen),))
db.commit()
PY
for lib in small large; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$binary" serve --library "$work/$lib" --port "$port" --log-level error &
  server=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  images=$(curl -sf "http://127.0.0.1:$port/api/info" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["images"], d["index_kind"])')
  times=()
  for i in $(seq 1 10); do
    times+=("$( { cat Tests/Fixtures/images/rocket_444.jpg; printf 'upload-%d' "$i"; } | curl -s -o /dev/null -w '%{time_total}' \
      -X POST -H 'Content-Type: image/jpeg' --data-binary @- "http://127.0.0.1:$port/api/images")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 5p)
  echo "upload into $images: median $(python3 -c "print(round($median * 1000, 1))") ms (all: ${times[*]})"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
