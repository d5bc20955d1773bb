#!/usr/bin/env bash
# Builds and runs every test (debug build). Fixtures are committed; no network and no Python needed.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
