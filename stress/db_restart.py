"""Database restarts under load: what fails while it is down, and that nothing fails once it
is back. Clients behave like `projects-import send`: a failed batch is sent again.

    .venv/bin/python stress/db_restart.py [--restarts 3] [--tenants 2] [--rows 200]

Each tenant's client sends new batches back to back. Every `--every` seconds the cluster is
restarted (`pg_ctl restart -m fast`: open connections die). Reports the answers before the
restart, while the database is down, and after it is back; then checks that every accepted
batch is staged exactly once.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).parent))

from harness import Cluster, Service, rows, say


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--every", type=float, default=8.0)
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--rows", type=int, default=200)
    args = parser.parse_args()

    cluster = Cluster()
    service = Service(cluster.url)
    answers: list[tuple[float, float, str, str]] = []  # sent, done, status, body excerpt
    accepted: list[str] = []
    outages: list[tuple[float, float]] = []  # stop began, start returned
    lock = threading.Lock()
    stop = threading.Event()

    def client(tenant: str, secret: str) -> None:
        headers = {"Authorization": f"Bearer {secret}"}
        n = 0
        with httpx.Client(timeout=60) as http:
            while not stop.is_set():
                batch_id = f"{tenant}-{n:05d}"
                body = {"tenant_id": tenant, "batch_id": batch_id,
                        "rows": rows(args.rows, batch_id)}
                sent = time.monotonic()
                try:
                    response = http.post(f"{service.url}/import-projects", json=body,
                                         headers=headers)
                    status, excerpt = str(response.status_code), response.text[:200]
                except httpx.HTTPError as exc:
                    status, excerpt, response = type(exc).__name__, "", None
                with lock:
                    answers.append((sent, time.monotonic(), status, excerpt))
                    if status == "200":
                        accepted.append(batch_id)
                if status == "200":
                    n += 1
                else:  # as send does: wait (Retry-After when given), send the same batch
                    wait = float(response.headers.get("Retry-After", 1)) if response else 1.0
                    stop.wait(min(wait, 2.0))

    def overlaps(sent: float, done: float) -> bool:
        return any(sent < back and done > down for down, back in outages)

    try:
        tenants = {f"RESTART{i}": service.add_tenant(f"RESTART{i}") for i in range(args.tenants)}
        threads = [threading.Thread(target=client, args=item) for item in tenants.items()]
        for thread in threads:
            thread.start()
        for _ in range(args.restarts):
            time.sleep(args.every)
            down = time.monotonic()
            cluster.stop("fast")
            time.sleep(1.0)  # down for a moment, as a real restart is
            cluster.start()
            outages.append((down, time.monotonic()))
        time.sleep(args.every)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        with psycopg.connect(service.env["DATABASE_URL"]) as conn:
            staged = conn.execute("select validation->>'request_batch_id', count(*) "
                                  "from staging_imports group by 1").fetchall()
        staged_ids = {batch_id: count for batch_id, count in staged}
        during: dict[str, int] = {}
        clear: dict[str, int] = {}
        clear_failures: list[str] = []
        for sent, done, status, excerpt in answers:
            bucket = during if overlaps(sent, done) else clear
            bucket[status] = bucket.get(status, 0) + 1
            if bucket is clear and status != "200":
                clear_failures.append(excerpt)
        result = {
            "restarts": args.restarts, "tenants": args.tenants, "rows": args.rows,
            "downtime_s": [round(back - down, 2) for down, back in outages],
            "requests": len(answers),
            "answers_overlapping_a_restart": during,
            "answers_with_the_database_up": clear,
            "failed_with_the_database_up": len(clear_failures),
            "failures_with_the_database_up": clear_failures[:5],
            "accepted_batches": len(accepted),
            "accepted_not_staged": [b for b in accepted if b not in staged_ids],
            "staged_twice": [b for b, count in staged_ids.items() if count > 1],
            "staged_not_accepted": sorted(set(staged_ids) - set(accepted)),
        }
        say(json.dumps(result, indent=1))
    finally:
        service.close()
        cluster.close()


if __name__ == "__main__":
    main()
