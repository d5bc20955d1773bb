#!/usr/bin/env python3
"""pymilvus searching Milvus directly: the reference for `glimpse-bench store --store milvus://…`.

Runs on the collection that `glimpse-bench store --store milvus://HOST:PORT/NAME --keep` loaded (same rows, same
HNSW index, same queries), one client, the same search Glimpse sends (COSINE, top k, the same ef, the collection's
Bounded consistency, no output fields), and prints one JSON line per ef: ms per query, queries/s and recall@k
against exact search over the base vectors. The ratio of Glimpse's ms per query to this one's is what Glimpse's
client adds.

    python3 Benchmarks/reference_milvus.py milvus://127.0.0.1:19530/bench BASE.npy QUERIES.npy [--ef 10,20,40,80,160] [--k 10]

Needs numpy and pymilvus (any version that speaks to the server: 2.3.x for Milvus 2.3, 2.4+ or 3.x for newer
servers and milvus-lite).
"""
import argparse
import json
import re
import time
import urllib.parse

import numpy as np
from pymilvus import MilvusClient


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("base")
    parser.add_argument("queries")
    parser.add_argument("--ef", default="10,20,40,80,160")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url.replace("milvus+tls://", "https://").replace("milvus://", "http://"))
    collection = url.path.strip("/")
    client = MilvusClient(uri=f"{url.scheme}://{url.hostname}:{url.port or 19530}")

    base = np.load(args.base).astype(np.float32)
    queries = np.load(args.queries).astype(np.float32)
    # Stored ids come from paths (/bench/I.jpg): map them back to rows of the base.
    row_of = {}
    for first in range(0, len(base), 1000):
        paths = [f"/bench/{i}.jpg" for i in range(first, min(first + 1000, len(base)))]
        for hit in client.query(collection, filter="path in " + json.dumps(paths), output_fields=["id", "path"],
                                consistency_level="Strong"):
            row_of[hit["id"]] = int(re.match(r"/bench/(\d+)\.jpg", hit["path"]).group(1))
    normalised = base / np.linalg.norm(base, axis=1, keepdims=True)
    truth = [set(np.argsort(-(normalised @ (q / np.linalg.norm(q))))[: args.k]) for q in queries]

    for ef in [int(e) for e in args.ef.split(",")]:
        params = {"metric_type": "COSINE", "params": {"ef": max(ef, args.k)}}
        for q in queries[:50]:  # warm-up
            client.search(collection, [q.tolist()], limit=args.k, search_params=params, consistency_level="Bounded")
        hits = 0
        start = time.perf_counter()
        for i, q in enumerate(queries):
            found = client.search(collection, [q.tolist()], limit=args.k, search_params=params, consistency_level="Bounded")[0]
            hits += sum(1 for h in found if row_of.get(h["id"]) in truth[i])
        seconds = time.perf_counter() - start
        print(json.dumps({"ef": ef, "recall@%d" % args.k: round(hits / (len(queries) * args.k), 4),
                          "ms_per_query": round(seconds / len(queries) * 1000, 3), "qps": round(len(queries) / seconds)}))


if __name__ == "__main__":
    main()
