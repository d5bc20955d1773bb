#!/usr/bin/env python3
"""Open-loop load: distinct text searches sent at a constant rate, latency measured from each request's scheduled
start (so a slow server cannot slow the load down and hide its queueing, as closed-loop tools do).

    python3 Benchmarks/open_loop.py URL RATE SECONDS     e.g. http://127.0.0.1:8080 50 20

Prints one JSON object: {"rate": .., "sent": .., "errors": .., "p50_ms": .., "p90_ms": .., "p99_ms": .., "max_ms": ..}.
Loopback only; bounded by SECONDS plus a 10 s grace for requests in flight.
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

WORDS = ["dog", "cat", "beach", "city", "night", "coffee", "mountain", "snow", "red", "car", "children", "running",
         "house", "forest", "river", "sunset", "portrait", "old", "bridge", "rocket", "flowers", "market", "train"]


def main() -> None:
    url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    parsed = urllib.parse.urlparse(url)
    assert parsed.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    local = threading.local()
    latencies, errors, lock = [], [0], threading.Lock()

    def send(i: int, scheduled: float) -> None:
        words = [WORDS[(i * 7 + j * 5) % len(WORDS)] for j in range(4)] + [f"q{i}"]
        path = "/api/search?limit=30&q=" + "+".join(words)
        try:
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
            local.conn.request("GET", path)
            response = local.conn.getresponse()
            response.read()
            ok = response.status == 200
        except Exception:
            local.__dict__.pop("conn", None)
            ok = False
        done = time.perf_counter()
        with lock:
            if ok:
                latencies.append((done - scheduled) * 1000)
            else:
                errors[0] += 1

    count = int(rate * seconds)
    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, i, scheduled)
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else float("nan")

    print(json.dumps({"rate": rate, "sent": count, "errors": errors[0], "p50_ms": pct(0.5), "p90_ms": pct(0.9),
                      "p99_ms": pct(0.99), "max_ms": round(latencies[-1], 2) if latencies else None}))


if __name__ == "__main__":
    main()
