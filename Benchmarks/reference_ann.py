#!/usr/bin/env python3
"""hnswlib on the same vectors as `glimpse-bench ann`, printing the same JSON shape.

Builds an inner-product HNSW (hnswlib 'ip' space: distance 1 - dot, i.e. cosine on normalised vectors) with the
given M / efConstruction on 2 threads (or --threads), computes the exact top-k with numpy, then for each ef runs
the queries one at a time (`knn_query` per query, num_threads=1) and reports recall@k and queries/s (the fastest of
--passes timed passes, after a warm-up; qps_cpu divides by the thread's CPU time, which other processes' load does
not inflate), build seconds and index memory (hnswlib's serialised index size).

    python3 Benchmarks/reference_ann.py --base /tmp/glimpse-ann/base.npy --queries /tmp/glimpse-ann/queries.npy
"""
import argparse
import json
import subprocess
import sys
import time
from importlib.metadata import version


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="/tmp/glimpse-ann/base.npy")
    ap.add_argument("--queries", default="/tmp/glimpse-ann/queries.npy")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="10,20,40,80,160")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2, help="build threads")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    try:
        import hnswlib
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "hnswlib"])
        import hnswlib
    import numpy as np

    base = np.load(args.base).astype(np.float32, copy=False)
    queries = np.load(args.queries).astype(np.float32, copy=False)
    n, d = base.shape
    k = args.k
    efs = [int(e) for e in args.ef.split(",") if e.strip()]

    # Ground truth (exact inner product).
    t0 = time.perf_counter()
    scores = queries @ base.T
    truth = np.argpartition(-scores, k, axis=1)[:, :k]
    truth_sets = [set(row.tolist()) for row in truth]
    truth_seconds = time.perf_counter() - t0
    del scores

    index = hnswlib.Index(space="ip", dim=d)
    index.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction, random_seed=100)
    t0, c0 = time.perf_counter(), time.process_time()
    index.add_items(base, np.arange(n), num_threads=args.threads)
    build_seconds = time.perf_counter() - t0
    build_cpu_seconds = time.process_time() - c0
    # Index data as hnswlib serialises it (layer-0 records, upper links, levels); its mutexes and label map come on top.
    index_bytes = index.index_file_size()

    index.set_num_threads(1)
    results = []
    for ef in efs:
        index.set_ef(max(ef, k))
        for q in queries[:200]:
            index.knn_query(q, k=k, num_threads=1)
        best = best_cpu = float("inf")
        hits = 0
        for _ in range(max(args.passes, 1)):
            hits = 0
            t0, c0 = time.perf_counter(), time.thread_time()
            for i, q in enumerate(queries):
                labels, _ = index.knn_query(q, k=k, num_threads=1)
                hits += len(truth_sets[i].intersection(labels[0].tolist()))
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.thread_time() - c0)
        results.append({"ef": ef, f"recall@{k}": round(hits / (len(queries) * k), 4),
                        "qps": round(len(queries) / best), "qps_cpu": round(len(queries) / best_cpu)})

    out = {
        "library": "hnswlib " + version("hnswlib"),
        "n": n, "dimension": d, "M": args.m, "ef_construction": args.ef_construction, "threads": args.threads,
        "build_seconds": round(build_seconds, 2),
        "build_cpu_seconds": round(build_cpu_seconds, 2),
        "index_mb": round(index_bytes / 1e6, 1),
        "ground_truth_seconds": round(truth_seconds, 2),
        "results": results,
    }
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"hnswlib M={args.m} efConstruction={args.ef_construction} on {n} x {d}, {len(queries)} queries")
        print(f"build {build_seconds:.2f} s ({args.threads} threads), index {index_bytes / 1e6:.1f} MB")
        for r in results:
            print(f"ef {r['ef']}: recall@{k} {r[f'recall@{k}']}, {r['qps']} q/s ({r['qps_cpu']} per CPU-second)")


if __name__ == "__main__":
    main()
