#!/usr/bin/env bash
# The stores side by side, one run: `glimpse-bench store` on a library folder, on PostgreSQL (when PG_URL is given)
# and on Milvus, then pymilvus's own searches on the collection Glimpse loaded (Benchmarks/reference_milvus.py), the
# anchor for what Glimpse's Milvus client adds per search. One JSON line each.
#
#   Benchmarks/store_benchmark.sh BASE.npy QUERIES.npy MILVUS_URL [PG_URL] [EFS=40,80,160]
#
# MILVUS_URL is milvus://HOST:PORT/COLLECTION (its collection is replaced). $PYTHON is a Python with numpy and a
# pymilvus that speaks to the server (default python3). Vectors: Benchmarks/make_ann_vectors.py. Build first:
# swift build -c release --product glimpse-bench
set -euo pipefail
base=$1 queries=$2 milvus=$3 pg=${4:-} efs=${5:-40,80,160}
bench="$(dirname "$0")/../.build/release/glimpse-bench"
python=${PYTHON:-python3}
library=$(mktemp -d)
trap 'rm -rf "$library"' EXIT
"$bench" store --store "$library/library" --base "$base" --queries "$queries" --ef "$efs" --json
if [ -n "$pg" ]; then "$bench" store --store "$pg" --base "$base" --queries "$queries" --ef "$efs" --json; fi
"$bench" store --store "$milvus" --base "$base" --queries "$queries" --ef "$efs" --keep --json
"$python" "$(dirname "$0")/reference_milvus.py" "$milvus" "$base" "$queries" --ef "$efs"
