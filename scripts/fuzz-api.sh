#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis (PyPI), bounded: at most 20 examples per
# operation and 240 s a run, once without a token and once with one. Passes when no request gets a 5xx (or kills
# the server). Everything on 127.0.0.1,
# over a throw-away library built from the fixtures with the tiny model.
#   scripts/fuzz-api.sh [path/to/glimpse]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-${GLIMPSE_BIN:-$(swift build --show-bin-path)/glimpse}}"
command -v schemathesis >/dev/null || { echo "fuzz-api: schemathesis not installed (pip install schemathesis)"; exit 1; }
work=$(mktemp -d /tmp/glimpse-fuzz-XXXXXX)
model=Tests/Fixtures/models/clip-tiny-f32
mkdir -p "$work/photos"
cp Tests/Fixtures/images/{astronaut_baseline.jpg,coffee_progressive.jpg,rocket_444.jpg,chelsea_palette.png,camera_gray.jpg} "$work/photos/"
"$binary" index --library "$work/library" --model "$model" "$work/photos" >/dev/null
cleanup() { [ -n "${server:-}" ] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT
# Once without a token (loopback), once with one: with it, every /api operation is sent with the token.
for token in "" "fuzz-$RANDOM$RANDOM"; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  auth=(); header=(); mode="token unset"
  if [ -n "$token" ]; then auth=(--auth-token "$token"); header=(--header "Authorization: Bearer $token"); mode="token set"; fi
  "$binary" serve --library "$work/library" --model "$model" --host 127.0.0.1 --port "$port" --max-upload-mb 2 \
    --log-level warning "${auth[@]}" 2>"$work/serve.log" &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  # schemathesis exits non-zero for server errors (a FAILURES section) and also when it breaks itself (an ERRORS
  # section only: e.g. hypothesis hitting CPython's "AST constructor recursion depth mismatch"). A run that broke
  # without finding a failure is tried once more; only found 5xx responses fail this script.
  for attempt in 1 2; do
    status=0
    timeout 240 schemathesis run "http://127.0.0.1:$port/openapi.json" --checks not_a_server_error --max-examples 20 \
      --request-timeout 20 --workers 2 --generation-deterministic --no-color "${header[@]}" >"$work/schemathesis.log" 2>&1 || status=$?
    grep -v "^    " "$work/schemathesis.log" | tail -40
    if [ "$status" -ne 0 ] && ! grep -q "^=* FAILURES =*$" "$work/schemathesis.log" && grep -q "^=* ERRORS =*$" "$work/schemathesis.log"; then
      echo "fuzz-api: schemathesis itself failed (no server error found; attempt $attempt)"
      [ "$attempt" -eq 2 ] && status=0
      continue
    fi
    break
  done
  if ! kill -0 "$server" 2>/dev/null; then echo "fuzz-api: the server died"; cat "$work/serve.log"; exit 1; fi
  if [ "$status" -ne 0 ]; then echo "fuzz-api: schemathesis found server errors (exit $status, $mode)"; tail -50 "$work/serve.log"; exit "$status"; fi
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  echo "fuzz-api: no 5xx ($mode)"
done
