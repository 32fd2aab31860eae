"""4 tenants importing 5000-row batches at full speed: /healthz and 429 latency, peak RSS.

    .venv/bin/python stress/load_latency.py [--seconds 60] [--tenants 4] [--rows 5000]

Per tenant, one client sends batches back to back (each changes every row) and a second
client sends the same tenant's batch every 200 ms, which is refused with 429 while the first
holds the tenant's turn. A prober in its own process asks /healthz every 25 ms. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from harness import Cluster, Service, rows, say, summary


def probe(url: str, seconds: float, out: Any) -> None:
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ok = client.get(f"{url}/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            failures += not ok
            time.sleep(0.025)
    out.put((latencies, failures))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--competitor-rows", type=int, default=None,
                        help="rows in the competing client's batches (default: --rows)")
    args = parser.parse_args()

    cluster = Cluster()
    service = Service(cluster.url)
    try:
        tenants = {f"LOAD{i}": service.add_tenant(f"LOAD{i}") for i in range(args.tenants)}
        bodies = {tenant: [json.dumps({"tenant_id": tenant, "batch_id": f"{tenant}-{n}",
                                       "rows": [dict(r, residential=str(n))
                                                for r in rows(args.rows, "S")]}).encode()
                           for n in range(2)] for tenant in tenants}
        small = {tenant: json.dumps({"tenant_id": tenant, "batch_id": f"{tenant}-small",
                                     "rows": rows(args.competitor_rows, "C")}).encode()
                 for tenant in tenants} if args.competitor_rows else {}
        stop = threading.Event()
        statuses: dict[str, dict[int, int]] = {}
        import_ms: list[float] = []
        busy_ms: list[float] = []
        lock = threading.Lock()

        def record(kind: str, status: int, elapsed: float) -> None:
            with lock:
                counts = statuses.setdefault(kind, {})
                counts[status] = counts.get(status, 0) + 1
                if kind == "import" and status == 200:
                    import_ms.append(elapsed)
                if status == 429:
                    busy_ms.append(elapsed)

        def importer(tenant: str, secret: str, kind: str, pause: float) -> None:
            headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
            n = 0
            with httpx.Client(timeout=120) as client:
                while not stop.is_set():
                    body = small.get(tenant) if kind == "competitor" else None
                    body = body or bodies[tenant][n % 2]
                    n += 1
                    started = time.perf_counter()
                    try:
                        status = client.post(f"{service.url}/import-projects", content=body,
                                             headers=headers).status_code
                    except httpx.HTTPError:
                        status = 0
                    record(kind, status, (time.perf_counter() - started) * 1000)
                    stop.wait(pause)

        queue: Any = multiprocessing.Queue()
        prober = multiprocessing.Process(target=probe, args=(service.url, args.seconds, queue))
        threads = [threading.Thread(target=importer, args=(t, s, "import", 0.0))
                   for t, s in tenants.items()]
        threads += [threading.Thread(target=importer, args=(t, s, "competitor", 0.2))
                    for t, s in tenants.items()]
        prober.start()
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            service.rss_mb()
            time.sleep(0.5)
        stop.set()
        health_ms, health_failures = queue.get(timeout=30)
        prober.join()
        for thread in threads:
            thread.join(timeout=180)
        result = {
            "seconds": args.seconds, "tenants": args.tenants, "rows": args.rows,
            "statuses": statuses,
            "healthz": {**summary("healthz", health_ms), "failures": health_failures},
            "busy_429": summary("429", busy_ms),
            "import_200": summary("import", import_ms),
            "peak_rss_mb": round(service.peak_rss / 2**20, 1),
        }
        say(json.dumps(result, indent=1))
    finally:
        service.close()
        cluster.close()


if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    main()
