"""The performance targets of the rollups and the contract floor, from one run.

    .venv/bin/python bench/bench_targets.py [--repeat 7] [--cpu-seconds 40]
        [--read-samples 100] [--write docs/benchmarks.md] [--json out.json]

One embedded PostgreSQL, one `projects-import serve` process, three parts in this order:

1. The import next to its contract floor (`bench_floor.interleaved`: 5,000 rows, a first
   import and a re-import of 3,800 changed + 1,200 new rows, on fresh tenants, every variant
   interleaved in a rotating order); medians of --repeat repetitions.
2. Operator statistics: a tenant with a history of at least 50,000 unresolved problems and
   5,000,000 occurrences (`dataset.seed_history`), then `GET /anomalies?stats=true` and the two
   statistics functions read --read-samples times each while two tenants import
   (`bench_import.reads`).
3. CPU per 1,000 rows: 4 tenants post new 5,000-row batches back to back for --cpu-seconds;
   user + system CPU of the service with its import workers and of every PostgreSQL process
   (psutil; exited processes counted through their parents), over the rows merged meanwhile.

Prints each target with its figure; --write puts that section (`## Targets, from one run`)
into the Markdown file, replacing the one a previous run wrote.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
from bench_floor import interleaved
from bench_import import Background, machine, reads
from dataset import seed_history
from harness import Cluster, add_tenant, serving

ROWS = 5000
FLOOR_RATIO = 1.4
STATS_P95_MS = 50.0
SECTION = "## Targets, from one run"


def _stress_harness() -> Any:
    """stress/harness.py, for its CPU accounting (`cpu_seconds`), loaded under a name of its
    own: the bench and the stress scripts both call their shared module `harness`."""
    spec = importlib.util.spec_from_file_location(
        "stress_harness", harness.ROOT / "stress" / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cpu_seconds = _stress_harness().cpu_seconds


def postmaster_pid(cluster: Cluster) -> int:
    pid_file = cluster.home / "embedded" / "pgdata" / "postmaster.pid"
    return int(pid_file.read_text().split()[0])


def cpu_per_row(cluster: Cluster, server: harness.Serve, seconds: float) -> dict[str, float]:
    """Part 3: 4 tenants importing new batches back to back; CPU-seconds per 1,000 rows."""
    measured = (server.pid, postmaster_pid(cluster))
    load_before = os.getloadavg()[0]
    tenants: dict[str, str | None] = {f"CPU{i}": None for i in range(4)}
    with Background(cluster, server, tenants, limit=1_000_000, tag="cpu") as background:
        before = cpu_seconds(*measured)
        started = time.monotonic()
        time.sleep(seconds)
    elapsed = time.monotonic() - started  # the batches in flight when told to stop included
    cpu = cpu_seconds(*measured) - before
    rows = ROWS * sum(len(batches) for batches in background.latencies.values())
    return {"seconds": elapsed, "rows": rows, "cpu_seconds": cpu,
            "cpu_seconds_per_1000_rows": 1000 * cpu / max(rows, 1),
            "rows_per_s": rows / elapsed, "cores_busy": cpu / elapsed,
            "load_average_before": load_before, "load_average_after": os.getloadavg()[0]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"load_average_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cluster = Cluster(home)
        results["machine"] = machine(cluster)
        try:
            with serving(cluster.url, home) as server:
                print("1. the import and its contract floor", flush=True)
                floor = interleaved(cluster, server, args.repeat)
                results["floor"] = {label: {"median": s.median, "min": s.low, "max": s.high}
                                    for label, s in floor.items()}
                print("2. operator statistics over the history", flush=True)
                add_tenant(cluster.url, "BIG")
                results["history"] = seed_history(
                    cluster.url, "BIG", projects=args.history_projects,
                    occurrences=args.history_occurrences, old=0, budget_seconds=900)
                results["reads"] = reads(cluster, server, args.read_samples)
                print("3. CPU per 1,000 rows", flush=True)
                results["cpu"] = cpu_per_row(cluster, server, args.cpu_seconds)
        finally:
            cluster.close()
    results["load_average_after"] = os.getloadavg()[0]
    return results


def verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def markdown(results: dict[str, Any], repeat: int, samples: int) -> str:
    floor = results["floor"]
    cpu = results["cpu"]
    reads_ = results["reads"]
    start = reads_["data at the start"]
    ms = 1000.0
    lines = [SECTION, "",
             f"`.venv/bin/python bench/bench_targets.py --repeat {repeat} "
             f"--read-samples {samples} --write docs/benchmarks.md`; load average "
             f"{results['load_average_before']:.1f} before "
             f"and {results['load_average_after']:.1f} after the run; "
             + ", ".join(f"{k} {v}" for k, v in results["machine"].items()) + ".", "",
             "| target | figure | |", "|---|---|---|"]
    for kind in ("first", "re-import"):
        imp = floor[f"import: {kind}"]["median"]
        low = floor[f"contract floor: {kind}"]["median"]
        ratio = imp / low
        lines.append(f"| import ≤ {FLOOR_RATIO}x the contract floor, {kind} | "
                     f"{imp * ms:.0f} ms ÷ {low * ms:.0f} ms = {ratio:.2f}x | "
                     f"{verdict(ratio <= FLOOR_RATIO)} |")
    stats = reads_["GET /anomalies?stats=true"]
    big_enough = start["occurrences"] >= 5e6 and start["unresolved problems"] >= 5e4
    lines.append(f"| `GET /anomalies?stats=true` p95 ≤ {STATS_P95_MS:.0f} ms, two tenants "
                 f"importing, {start['unresolved problems']:,.0f} unresolved problems, "
                 f"{start['occurrences']:,.0f} occurrences | {stats['p95'] * ms:.1f} ms "
                 f"({samples} reads, median {stats['median'] * ms:.1f} ms) | "
                 f"{verdict(stats['p95'] * ms <= STATS_P95_MS and big_enough)} |")
    lines.append(f"| CPU-seconds per 1,000 imported rows (4 tenants back to back, "
                 f"{cpu['seconds']:.0f} s) | {cpu['cpu_seconds_per_1000_rows']:.3f} "
                 f"({cpu['cpu_seconds']:.1f} CPU-s for {cpu['rows']:,} rows, "
                 f"{cpu['rows_per_s']:,.0f} rows/s, {cpu['cores_busy']:.2f} cores busy) | "
                 "reported |")
    lines += ["", "The import and its floors (medians, min-max, ms):", "",
              "| measurement | median | min | max |", "|---|---:|---:|---:|"]
    for label, figure in sorted(floor.items()):
        lines.append(f"| {label} | {figure['median'] * ms:.0f} | {figure['min'] * ms:.0f} | "
                     f"{figure['max'] * ms:.0f} |")
    lines += ["", f"Operator reads while two tenants import "
              f"({reads_['imports while reading']['batches']:.0f} batches merged meanwhile), "
              "ms:", "", "| request | median | p95 | max |", "|---|---:|---:|---:|"]
    for label, figure in reads_.items():
        if "p95" in figure:
            lines.append(f"| {label} | {figure['median'] * ms:.1f} | {figure['p95'] * ms:.1f} "
                         f"| {figure['max'] * ms:.1f} |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace the section a previous run wrote, or put it after the first section."""
    document = path.read_text() if path.exists() else "# Benchmarks\n"
    if SECTION in document:
        head, rest = document.split(SECTION, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        document = head + text + tail
    else:
        at = document.find("\n## ")
        at = len(document) if at < 0 else at + 1
        document = document[:at] + text + "\n" + document[at:]
    path.write_text(document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cpu-seconds", type=float, default=40)
    parser.add_argument("--read-samples", type=int, default=100)
    parser.add_argument("--history-projects", type=int, default=60_000)
    parser.add_argument("--history-occurrences", type=int, default=5_100_000)
    parser.add_argument("--write", type=Path, help="put the results into this Markdown file")
    parser.add_argument("--json", type=Path, help="write raw results as JSON")
    args = parser.parse_args()
    results = run(args)
    if args.json:  # first, so a report error loses no measurement
        args.json.write_text(json.dumps(results, indent=1))
    text = markdown(results, args.repeat, args.read_samples)
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
