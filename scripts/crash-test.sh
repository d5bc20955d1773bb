#!/usr/bin/env bash
# Crash safety at random moments (bounded; everything on 127.0.0.1, in a throw-away folder):
#  1. `glimpse index` over a few hundred files is killed with SIGKILL at 20 random moments. After each kill the
#     database must pass `PRAGMA integrity_check` and keep every row committed before it; the final library must
#     equal an uninterrupted run's (same paths, hashes and embeddings), and search must work.
#  2. `glimpse serve` is killed with SIGKILL during uploads, 5 times. After each restart every upload that was
#     answered 201 is there, the database is intact, and the server's index holds exactly the database's images.
#   scripts/crash-test.sh [path/to/glimpse]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-${GLIMPSE_BIN:-$(swift build --show-bin-path)/glimpse}}"
model=Tests/Fixtures/models/clip-tiny-f32
work=$(mktemp -d /tmp/glimpse-crash-XXXXXX)
server=""
cleanup() { [ -n "$server" ] && { kill -9 "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "crash-test: FAIL: $*"; exit 1; }
# Killed while the database was being created, a library may have no image table yet: that reads as no rows.
rows() { sqlite3 "$1/library.sqlite" "SELECT name FROM sqlite_master WHERE name = 'image'" | grep -q image || return 0
  sqlite3 "$1/library.sqlite" "SELECT path || ' ' || contentHash || ' ' || hex(embedding) FROM image ORDER BY path"; }
intact() { [ "$(sqlite3 "$1/library.sqlite" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check failed in $1"; }

# A folder of 360 distinct files: the fixtures, each copied with a different trailing byte pattern (decoders
# ignore bytes after the image's end, so every copy decodes, and every copy has its own content hash).
mkdir -p "$work/photos"
n=0
for copy in $(seq 1 40); do
  for f in Tests/Fixtures/images/{astronaut_baseline.jpg,coffee_progressive.jpg,rocket_444.jpg,chelsea_palette.png,camera_gray.jpg,rocket_exif6.jpg,moon_gray.png,coffee_lossy.webp,rocket.bmp}; do
    [ -f "$f" ] || continue
    ext="${f##*.}"
    sub="$work/photos/d$((copy % 4))"
    mkdir -p "$sub"
    { cat "$f"; printf 'glimpse-crash-copy-%05d' "$copy"; } > "$sub/$(basename "$f" ".$ext")-$copy.$ext"
    n=$((n + 1))
  done
done
echo "crash-test: $n files"

t0=$(date +%s%N)
"$binary" index --library "$work/reference" --model "$model" --batch-size 8 "$work/photos" >/dev/null
run_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "crash-test: an uninterrupted run takes $run_ms ms"
rows "$work/reference" > "$work/reference.rows"
[ "$(wc -l < "$work/reference.rows")" -gt 0 ] || fail "the uninterrupted run indexed nothing"

kills=0
crashes=0
before=""
progress=""
for i in $(seq 1 20); do
  "$binary" index --library "$work/library" --model "$model" --batch-size 8 "$work/photos" >/dev/null 2>"$work/index.err" &
  pid=$!
  # A random moment within the first fifth of a whole run, so most kills land mid-run (the next run resumes).
  sleep "$(awk -v s="$RANDOM" -v ms="$run_ms" 'BEGIN { srand(s); printf "%.3f", 0.02 + rand() * ms / 5000 }')"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  status=0
  wait "$pid" 2>/dev/null || status=$?
  # Anything but our SIGKILL (137) or a finished run (0) is a crash of glimpse itself: shown, with its backtrace.
  if [ "$status" != 0 ] && [ "$status" != 137 ]; then
    crashes=$((crashes + 1))
    echo "crash-test: WARNING: run $i of glimpse index ended with status $status on its own:" >&2
    tail -n 60 "$work/index.err" >&2
  fi
  [ -f "$work/library/library.sqlite" ] || continue
  intact "$work/library"
  now=$(rows "$work/library")
  # Every row committed before this kill is still there, unchanged.
  if [ -n "$before" ]; then
    missing=$(comm -23 <(printf '%s\n' "$before") <(printf '%s\n' "$now") | head -1)
    [ -z "$missing" ] || fail "after kill $i a committed row is gone: ${missing:0:80}"
  fi
  before="$now"
  progress+=" $(grep -c . <<<"$now" || true)"  # grep -c exits 1 on zero lines
done
echo "crash-test: images committed after each kill:$progress (of $(wc -l < "$work/reference.rows"))"
"$binary" index --library "$work/library" --model "$model" --batch-size 8 "$work/photos" >/dev/null
intact "$work/library"
rows "$work/library" > "$work/final.rows"
cmp -s "$work/reference.rows" "$work/final.rows" || fail "the library after $kills kills differs from an uninterrupted run"
"$binary" search "a rocket" --library "$work/library" --json --limit 3 | grep -q '"path"' || fail "search after the kills found nothing"
echo "crash-test: index killed $kills times at random moments: intact, nothing committed lost, equal to an uninterrupted run"
[ "$crashes" = 0 ] || echo "crash-test: WARNING: glimpse index crashed on its own in $crashes of 20 runs (backtraces above)" >&2

# 2. Serve, killed during uploads.
uploads=$(ls "$work"/photos/d1/* | sed -n 1,40p)  # sed reads everything: no SIGPIPE under pipefail
served_kills=0
for round in $(seq 1 5); do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$binary" serve --library "$work/library" --port "$port" --log-level error 2>>"$work/serve.log" &
  server=$!
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  # The previous round's accepted uploads survived the kill, and the index holds what the database holds.
  count=$(sqlite3 "$work/library/library.sqlite" 'SELECT count(*) FROM image')
  images=$(curl -sf "http://127.0.0.1:$port/api/info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"])')
  [ "$images" = "$count" ] || fail "round $round: the server's index has $images images, the database $count"
  if [ -s "$work/accepted" ]; then
    while read -r id; do
      curl -sf -o /dev/null "http://127.0.0.1:$port/api/images/$id" || fail "round $round: accepted upload $id is gone"
    done < "$work/accepted"
  fi
  ( for f in $uploads; do
      out=$( { cat "$f"; printf 'serve-round-%d' "$round"; } | curl -s -X POST -H 'Content-Type: image/jpeg' \
             --data-binary @- -w '\n%{http_code}' "http://127.0.0.1:$port/api/images" 2>/dev/null) || continue
      [ "$(tail -1 <<<"$out")" = 201 ] && head -1 <<<"$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' >> "$work/accepted"
    done ) &
  uploader=$!
  sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.3f", 0.2 + rand() * 1.5 }')"
  kill -9 "$server" 2>/dev/null && served_kills=$((served_kills + 1))
  wait "$server" 2>/dev/null || true
  server=""
  wait "$uploader" 2>/dev/null || true
  intact "$work/library"
done
accepted=$(wc -l < "$work/accepted" 2>/dev/null || echo 0)
echo "crash-test: serve killed $served_kills times during uploads ($accepted uploads accepted): intact, none lost, index equal to the database"
echo "crash-test: 2 passed, 0 failed"
