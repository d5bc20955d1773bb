#!/usr/bin/env bash
# Runs a command next to a real Milvus server: the standalone Milvus 2.3.5 (embedded etcd, local storage, RocksMQ)
# that the PyPI package `milvus` ships, with GLIMPSE_TEST_MILVUS_URL set for it, then stops the server.
#
#   scripts/milvus-standalone.sh run COMMAND...      e.g.  scripts/milvus-standalone.sh run swift test --skip-build --filter Milvus
#
# Every component is told to use 127.0.0.1 (`--extra-config proxy.ip=127.0.0.1` and the same for the coordinators
# and nodes), but Milvus 2.3's gRPC servers listen on every interface whatever `ip` says. So the server and the
# command run in a network namespace of their own (`unshare -n`, loopback only): nothing outside this process tree
# can reach the server. Needs root (or CAP_SYS_ADMIN) for the namespace; installs into $GLIMPSE_MILVUS_STANDALONE_HOME
# (default /tmp/glimpse-milvus-standalone).
set -euo pipefail
HOME_DIR=${GLIMPSE_MILVUS_STANDALONE_HOME:-/tmp/glimpse-milvus-standalone}
VENV=$HOME_DIR/venv
die() { echo "milvus-standalone.sh: $*" >&2; exit 1; }

install() {
  mkdir -p "$HOME_DIR"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >/dev/null 2>&1 || die "python3 -m venv failed; install python3-venv"
  fi
  if [ ! -x "$VENV/bin/milvus-server" ]; then
    echo "milvus-standalone.sh: installing milvus==2.3.5" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "milvus==2.3.5" >&2 || die "pip install milvus==2.3.5 failed"
  fi
}

stop_server() {
  kill -- -"$server_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 -- -"$server_pid" 2>/dev/null || true
  rm -rf "$server_data"
}

inside() {
  # In the namespace: loopback up, the server started, the command run, the server stopped.
  ip link set lo up
  local data="$HOME_DIR/data" log="$HOME_DIR/milvus.log" port=19530
  rm -rf "$data"
  local ips=()
  for component in proxy rootCoord queryCoord queryNode indexNode dataCoord dataNode; do
    ips+=(--extra-config "$component.ip=127.0.0.1")
  done
  # In a session of its own, so that stopping it stops the milvus process the wrapper starts too.
  setsid "$VENV/bin/milvus-server" --data "$data" --proxy-port "$port" "${ips[@]}" > "$log" 2>&1 &
  server_pid=$! server_data=$data
  trap stop_server EXIT
  # Ready when the proxy answers CheckHealth (it listens well before the coordinators are up).
  for _ in $(seq 1 300); do
    if "$VENV/bin/python" - "$port" <<'PY' 2>/dev/null
import sys
from pymilvus import connections, utility
connections.connect(host="127.0.0.1", port=sys.argv[1], timeout=2)
utility.list_collections(timeout=2)
PY
    then
      echo "milvus-standalone.sh: Milvus $("$VENV/bin/python" -c 'import milvus; print(milvus.__version__)' 2>/dev/null || echo 2.3.5) ready on 127.0.0.1:$port (own network namespace)" >&2
      local status=0
      GLIMPSE_TEST_MILVUS_URL="milvus://127.0.0.1:$port" "$@" || status=$?
      stop_server
      trap - EXIT
      exit $status
    fi
    kill -0 $server_pid 2>/dev/null || die "milvus-server exited: $(tail -n 20 "$log")"
    sleep 1
  done
  die "Milvus did not become ready in 300 s: $(tail -n 20 "$log")"
}

case "${1:-}" in
  run)
    shift
    [ $# -gt 0 ] || die "usage: scripts/milvus-standalone.sh run COMMAND..."
    install
    # pymilvus for the readiness check (the milvus package does not bring it).
    "$VENV/bin/python" -c "from pymilvus import connections, utility" 2>/dev/null || "$VENV/bin/pip" install -q "pymilvus>=2.3,<2.4" "setuptools<70" "marshmallow<4" >&2
    exec unshare -n bash "$0" __inside "$@"
    ;;
  __inside)
    shift
    inside "$@"
    ;;
  *) die "usage: scripts/milvus-standalone.sh run COMMAND..." ;;
esac
