"""The reference downloader for Benchmarks/download_benchmark.sh: what a notebook does to fetch an image list —
requests.Session per thread (keep-alive), a thread pool, the bytes written to files. Prints rows/s as JSON.

    python3 Benchmarks/reference_download.py LIST.csv OUT_DIR --threads 16
"""
import argparse
import csv
import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

parser = argparse.ArgumentParser()
parser.add_argument("list")
parser.add_argument("out")
parser.add_argument("--threads", type=int, default=16)
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
with open(args.list) as f:
    urls = [row["url"] for row in csv.DictReader(f)]

local = threading.local()


def fetch(url):
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
    try:
        response = session.get(url, timeout=30)
        if response.status_code != 200 or not response.content:
            return False
        path = os.path.join(args.out, hashlib.sha256(url.encode()).hexdigest()[:32])
        with open(path + ".part", "wb") as out:
            out.write(response.content)
        os.replace(path + ".part", path)
        return True
    except requests.RequestException:
        return False


start = time.perf_counter()
with ThreadPoolExecutor(args.threads) as pool:
    ok = sum(pool.map(fetch, urls))
seconds = time.perf_counter() - start
print(json.dumps({"rows": len(urls), "fetched": ok, "seconds": seconds, "rows_per_second": len(urls) / seconds}))
