#!/usr/bin/env bash
# Real-browser test of the web UI: starts `glimpse serve` on 127.0.0.1 over a library built from the fixtures
# (tiny model), drives headless Chromium through chromedriver's W3C WebDriver API (type a query, see results,
# search by an uploaded image, add it to the library, open a result, "more like this"), and saves screenshots
# to docs/screenshot.png and docs/screenshot-phone.png. Needs Debian's chromium and chromium-driver.
#   scripts/browser-test.sh [path/to/glimpse]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-${GLIMPSE_BIN:-$(swift build --show-bin-path)/glimpse}}"
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null 2>&1 || { echo "browser-test: $tool not installed (apt-get install chromium chromium-driver)"; exit 1; }
done
exec timeout 300 python3 scripts/browser_test.py "$binary"
