#!/usr/bin/env bash
# A throwaway Milvus server for the Milvus store's tests: milvus-lite (PyPI) serving MilvusService over gRPC on
# 127.0.0.1 — never 0.0.0.0.
#
#   scripts/milvus.sh start    install if needed, start, print the store URL base (milvus://127.0.0.1:PORT) last
#   scripts/milvus.sh stop     stop it and delete its data (fine if it is not running)
#   scripts/milvus.sh status   print "running URL" (exit 0) or "stopped" (exit 3)
#
# milvus-lite is installed into a virtualenv under $GLIMPSE_MILVUS_HOME (default /tmp/glimpse-milvus), with its data,
# log and pid. The real server (the `milvus` package's standalone binary) is started by scripts/milvus-standalone.sh.
set -euo pipefail
MILVUS_HOME=${GLIMPSE_MILVUS_HOME:-/tmp/glimpse-milvus}
VENV=$MILVUS_HOME/venv PID_FILE=$MILVUS_HOME/pid PORT_FILE=$MILVUS_HOME/port LOG=$MILVUS_HOME/milvus-lite.log
DATA=$MILVUS_HOME/data
die() { echo "milvus.sh: $*" >&2; exit 1; }
url() { echo "milvus://127.0.0.1:$(cat "$PORT_FILE")"; }
running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

install() {
  mkdir -p "$MILVUS_HOME"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >/dev/null 2>&1 || die "python3 -m venv failed; install python3-venv"
  fi
  # milvus-lite's server imports pymilvus's generated gRPC modules without declaring the dependency.
  if [ ! -x "$VENV/bin/milvus-lite" ] || ! "$VENV/bin/python" -c "import pymilvus.grpc_gen.milvus_pb2_grpc" >/dev/null 2>&1; then
    echo "milvus.sh: installing milvus-lite" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "milvus-lite>=3.2,<4" "pymilvus>=2.6" >&2 || die "pip install milvus-lite failed"
  fi
}

case "${1:-}" in
  start)
    if running; then url; exit 0; fi
    install
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" > "$PORT_FILE"
    rm -rf "$DATA"
    nohup "$VENV/bin/milvus-lite" server --data-dir "$DATA" --host 127.0.0.1 --port "$port" > "$LOG" 2>&1 &
    echo $! > "$PID_FILE"
    for _ in $(seq 1 150); do
      if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $port)))" 2>/dev/null; then
        url; exit 0
      fi
      running || die "milvus-lite exited: $(tail -n 5 "$LOG")"
      sleep 0.2
    done
    die "milvus-lite did not listen on port $port"
    ;;
  stop)
    if running; then
      pid=$(cat "$PID_FILE")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
    rm -rf "$DATA"
    ;;
  status)
    if running; then echo "running $(url)"; exit 0; else echo stopped; exit 3; fi
    ;;
  *) die "usage: scripts/milvus.sh start|stop|status" ;;
esac
