#!/usr/bin/env bash
# A throwaway S3 server (moto in server mode, from PyPI) on 127.0.0.1, for the S3 tests.
#
#   scripts/s3.sh start    install if needed, start, print the endpoint URL as the last line of stdout
#   scripts/s3.sh stop     stop it (fine if it is not running)
#   scripts/s3.sh status   print "running URL" (exit 0) or "stopped" (exit 3)
#
# moto is installed into a virtualenv under $GLIMPSE_S3_HOME (default /tmp/glimpse-s3), with its log and pid.
# It accepts any credentials; the tests sign every request with Signature V4 all the same.
set -euo pipefail
S3_HOME=${GLIMPSE_S3_HOME:-/tmp/glimpse-s3}
VENV=$S3_HOME/venv PID_FILE=$S3_HOME/pid PORT_FILE=$S3_HOME/port LOG=$S3_HOME/moto.log
die() { echo "s3.sh: $*" >&2; exit 1; }
url() { echo "http://127.0.0.1:$(cat "$PORT_FILE")"; }
running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

install() {
  mkdir -p "$S3_HOME"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >/dev/null 2>&1 || die "python3 -m venv failed; install python3-venv"
  fi
  if [ ! -x "$VENV/bin/moto_server" ]; then
    echo "s3.sh: installing moto[server]" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]>=5,<6" >&2 || die "pip install moto[server] failed"
  fi
}

case "${1:-}" in
  start)
    if running; then url; exit 0; fi
    install
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" > "$PORT_FILE"
    nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" > "$LOG" 2>&1 &
    echo $! > "$PID_FILE"
    for _ in $(seq 1 100); do
      if curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 || curl -s -o /dev/null "http://127.0.0.1:$port/"; then url; exit 0; fi
      running || die "moto exited: $(tail -n 5 "$LOG")"
      sleep 0.2
    done
    die "moto did not answer on port $port"
    ;;
  stop)
    if running; then kill "$(cat "$PID_FILE")" 2>/dev/null || true; fi
    rm -f "$PID_FILE"
    ;;
  status)
    if running; then echo "running $(url)"; exit 0; else echo stopped; exit 3; fi
    ;;
  *) die "usage: scripts/s3.sh start|stop|status" ;;
esac
