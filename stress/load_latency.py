"""4 tenants importing 5000-row batches at full speed: /healthz and 429 latency, imports and
rows per second, peak RSS of the service (its main process, and with its worker processes),
and CPU-seconds per 1,000 imported rows (the service, its import workers and every PostgreSQL
process, from /proc through psutil: user + system time, exited processes included through
their parents).

    .venv/bin/python stress/load_latency.py [--seconds 60] [--tenants 4] [--rows 5000]

Per tenant, one client sends batches back to back, every one a new batch (its own batch_id)
that changes every row (`residential` carries the send's counter), so each is decoded,
validated, staged and merged — never answered as a replay. A second client sends the same
tenant's batches every 200 ms (new ones too), refused with 429 while the first holds the
tenant's turn; when the second one has the turn, the first, refused in its turn, tries again
200 ms later. Bodies come from a template split at the counter, so the clients are not the
bottleneck. A prober in its own process asks /healthz every 25 ms. Loopback only.

`PYTHONPATH=DIR` runs the service from another copy of the package (e.g. `git archive main
projects_import | tar -x -C DIR`), for before/after runs side by side.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from harness import Cluster, Service, cpu_seconds, rows, say, summary

COUNTER = "@@N@@"
BUSY_PAUSE = 0.2  # the importer waits this long after a 429 (the competitor holds the turn)


class Batches:
    """New batches of one tenant: a template body split at the counter, joined per send."""

    def __init__(self, tenant: str, rows_n: int, tag: str) -> None:
        template = json.dumps({"tenant_id": tenant, "batch_id": f"{tenant}-{tag}-{COUNTER}",
                               "rows": [dict(r, residential=COUNTER)
                                        for r in rows(rows_n, tag)]})
        self.parts = [part.encode() for part in template.split(COUNTER)]
        self.rows = rows_n
        self.sent = 0

    def next(self) -> bytes:
        self.sent += 1
        return str(self.sent).encode().join(self.parts)


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
    parser.add_argument("--no-competitor", action="store_true",
                        help="only the back-to-back importers (no 429s): CPU per row of imports")
    parser.add_argument("--competitor-rows", type=int, default=None,
                        help="rows in the competing client's batches (default: --rows)")
    args = parser.parse_args()

    cluster = Cluster()
    service = Service(cluster.url)
    try:
        tenants = {f"LOAD{i}": service.add_tenant(f"LOAD{i}") for i in range(args.tenants)}
        stop = threading.Event()
        statuses: dict[str, dict[int, int]] = {}
        import_ms: list[float] = []
        busy_ms: list[float] = []
        merged = {"imports": 0, "rows": 0, "replayed": 0}
        lock = threading.Lock()

        def record(kind: str, response: httpx.Response | None, elapsed: float,
                   rows_sent: int) -> None:
            status = response.status_code if response is not None else 0
            with lock:
                counts = statuses.setdefault(kind, {})
                counts[status] = counts.get(status, 0) + 1
                if status == 200 and response is not None:
                    merged["imports"] += 1
                    merged["rows"] += rows_sent
                    merged["replayed"] += bool(response.json().get("replayed"))
                    if kind == "import":
                        import_ms.append(elapsed)
                if status == 429:
                    busy_ms.append(elapsed)

        def importer(tenant: str, secret: str, kind: str, pause: float) -> None:
            headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
            batches = (Batches(tenant, args.competitor_rows or args.rows, "C")
                       if kind == "competitor" else Batches(tenant, args.rows, "S"))
            with httpx.Client(timeout=120) as client:
                while not stop.is_set():
                    body = batches.next()
                    started = time.perf_counter()
                    try:
                        response: httpx.Response | None = client.post(
                            f"{service.url}/import-projects", content=body, headers=headers)
                    except httpx.HTTPError:
                        response = None
                    record(kind, response, (time.perf_counter() - started) * 1000,
                           batches.rows)
                    busy = response is not None and response.status_code == 429
                    stop.wait(max(pause, BUSY_PAUSE if busy else 0.0))

        queue: Any = multiprocessing.Queue()
        prober = multiprocessing.Process(target=probe, args=(service.url, args.seconds, queue))
        threads = [threading.Thread(target=importer, args=(t, s, "import", 0.0))
                   for t, s in tenants.items()]
        if not args.no_competitor:
            threads += [threading.Thread(target=importer, args=(t, s, "competitor", 0.2))
                        for t, s in tenants.items()]
        load_before = os.getloadavg()
        measured = (service.process.pid, cluster.postmaster_pid())
        cpu_before = cpu_seconds(*measured)
        prober.start()
        started = time.monotonic()
        for thread in threads:
            thread.start()
        deadline = started + args.seconds
        while time.monotonic() < deadline:
            service.rss_mb(children=True)
            time.sleep(0.5)
        stop.set()
        health_ms, health_failures = queue.get(timeout=30)
        prober.join()
        for thread in threads:
            thread.join(timeout=180)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(*measured) - cpu_before
        result = {
            "seconds": args.seconds, "tenants": args.tenants, "rows": args.rows,
            "competitor": not args.no_competitor,
            "load_average": {"before": [round(x, 1) for x in load_before],
                             "after": [round(x, 1) for x in os.getloadavg()]},
            "statuses": statuses,
            "healthz": {**summary("healthz", health_ms), "failures": health_failures},
            "busy_429": summary("429", busy_ms),
            "import_200": summary("import", import_ms),
            "imports_per_s": round(merged["imports"] / elapsed, 2),
            "rows_per_s": round(merged["rows"] / elapsed),
            "replayed": merged["replayed"],
            "cpu_seconds": round(cpu, 1),
            "cpu_seconds_per_1000_rows": round(1000 * cpu / max(merged["rows"], 1), 3),
            "cores_busy": round(cpu / elapsed, 2),
            "peak_rss_mb": {"main": round(service.peak_rss / 2**20, 1),
                            "main_and_workers": round(service.peak_total_rss / 2**20, 1),
                            "main_and_workers_pss": round(service.peak_total_pss / 2**20, 1)},
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
