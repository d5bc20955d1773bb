#!/usr/bin/env bash
# Builds the libFuzzer targets under Fuzz/Targets and runs each for a bounded time, one after the other.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 180 seconds; all targets)
#
# Each target is compiled with the toolchain's swiftc from the parser's own sources plus Fuzz/Targets/<Name>/*.swift
# (-sanitize=fuzzer,address, -parse-as-library; nothing is added to Package.swift, so `swift build` is unaffected).
# Binaries go to .build-fuzz/; the working corpus grows in .build-fuzz/corpus/<name> (seeded from
# Fuzz/Corpus/<name>, which stays as committed); crashes land in .build-fuzz/findings/<name>/.
# Reproduce one with: .build-fuzz/bin/<Name> .build-fuzz/findings/<name>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-180}"
shift || true
OUT=.build-fuzz
SWIFTC="${SWIFTC:-swiftc}"
mkdir -p "$OUT/bin"

sources_for() {
    case "$1" in
        Safetensors) ls Sources/GlimpseTensor/Loading/{SafetensorsFile,SafetensorsError,DType,ConfigError}.swift \
                        Sources/GlimpseTensor/{Tensor,FloatBuffer}.swift ;;
        JSONConfig)  ls Sources/GlimpseTensor/Loading/{JSONConfig,ConfigError}.swift ;;
        BMP)         ls Sources/GlimpseImage/{BMPDecoder,PixelConversion,ImageOrientation,RGBImage,ImageError}.swift ;;
        Tokenizer)   ls Sources/GlimpseText/*.swift ;;
        Multipart)   ls Sources/GlimpseServer/MultipartForm.swift ;;
    esac
}

ALL=(Safetensors JSONConfig BMP Tokenizer Multipart)
[ "$#" -gt 0 ] && TARGETS=("$@") || TARGETS=("${ALL[@]}")

for name in "${TARGETS[@]}"; do
    echo "== building $name"
    rm -f "$OUT/bin/$name"
    # shellcheck disable=SC2046
    set +e
    "$SWIFTC" -module-name "Fuzz$name" -parse-as-library -sanitize=fuzzer,address -O -g \
        $(sources_for "$name") Fuzz/Targets/"$name"/*.swift -o "$OUT/bin/$name" >"$OUT/$name.build.log" 2>&1
    rc=$?
    set -e
    grep -v "Cannot export local symbol" "$OUT/$name.build.log" || true
    [ "$rc" -eq 0 ] && [ -x "$OUT/bin/$name" ] || { echo "build of $name failed"; exit 1; }
done

summary=()
for name in "${TARGETS[@]}"; do
    lower=$(echo "$name" | tr '[:upper:]' '[:lower:]')
    corpus="$OUT/corpus/$lower"; findings="$OUT/findings/$lower"
    mkdir -p "$corpus" "$findings"
    log="$OUT/$lower.log"
    echo "== fuzzing $name for ${SECONDS_PER_TARGET}s (log: $log)"
    set +e
    # Leak checks are off: the state a target loads once (a tokenizer's pipeline) is reported as leaked at exit;
    # per-input growth is caught by -rss_limit_mb instead.
    "$OUT/bin/$name" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -detect_leaks=0 \
        -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "Fuzz/Corpus/$lower" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || true)
    [ -n "$runs" ] || runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    crashes=$(find "$findings" -type f | wc -l)
    line="$name: $runs executions, exit $rc, $crashes finding(s) in $findings"
    echo "$line"
    [ "$rc" -eq 0 ] || grep -E "ERROR|Fatal error|SUMMARY|panic|deadly" "$log" | head -5
    summary+=("$line")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
