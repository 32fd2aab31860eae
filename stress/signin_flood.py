"""Dashboard sign-in floods: how many passwords get verified, how long it takes, and the
service's peak memory (argon2 costs tens of MB per verification while it runs).

    .venv/bin/python stress/signin_flood.py

Scenarios, each against a fresh service: 40 concurrent wrong passwords for one login; 30
wrong guesses alongside the right password; 60 concurrent sign-ins for unknown emails from
one address; the same from 60 addresses (127.3.0.x). Loopback only.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from harness import Cluster, Service, say

EMAIL = "ops@example.com"
PASSWORD = "correct horse battery staple"


def sign_in(url: str, email: str, password: str, source: str = "127.0.0.1") -> str:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=120) as client:
        try:
            return str(client.post(f"{url}/login", data={"email": email, "password": password},
                                   headers={"Origin": url}).status_code)
        except httpx.TransportError:  # e.g. over the per-address connection cap
            return "connection closed"


def flood(cluster: Cluster, name: str, attempts: list[tuple[str, str, str]]) -> dict[str, Any]:
    service = Service(cluster.database(f"signin_{abs(hash(name))}"))
    try:
        service.cli("user", "add", EMAIL, "--role", "operator", "--password-stdin",
                    stdin=PASSWORD + "\n")
        baseline = service.rss_mb()
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                service.rss_mb()
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
            statuses = list(pool.map(lambda a: sign_in(service.url, *a), attempts))
        elapsed = time.perf_counter() - started
        sampling.set()
        sampler.join()
        counts: dict[str, int] = {}
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
        return {"scenario": name, "requests": len(attempts), "answers": counts,
                "seconds": round(elapsed, 2), "rss_before_mb": round(baseline, 1),
                "peak_rss_mb": round(service.peak_rss / 2**20, 1)}
    finally:
        service.close()


def main() -> None:
    cluster = Cluster()
    try:
        results = [
            flood(cluster, "40 wrong passwords, one login",
                  [(EMAIL, f"wrong password {n}", "127.0.0.1") for n in range(40)]),
            flood(cluster, "30 wrong guesses and the right password",
                  [(EMAIL, f"wrong password {n}", "127.0.0.1") for n in range(30)]
                  + [(EMAIL, PASSWORD, "127.0.0.1")]),
            flood(cluster, "60 unknown emails, one address",
                  [(f"nobody{n}@example.com", "some password", "127.0.0.1")
                   for n in range(60)]),
            flood(cluster, "60 unknown emails, 60 addresses",
                  [(f"nobody{n}@example.com", "some password", f"127.3.0.{n + 1}")
                   for n in range(60)]),
        ]
        say(json.dumps(results, indent=1))
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
