"""The benchmark's results as Markdown tables and a PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import Samples

FLOOR_OF = {
    "import: first, 5000 rows": "floor: first, 5000 rows",
    "import: re-import, 3800 existing": "floor: re-import, 3800 existing",
    "import: replay": "floor: first, 5000 rows",
    "import: replay, other bytes (checksum)": "floor: first, 5000 rows",
    "peer: naive row-by-row, first": "floor: first, 5000 rows",
    "peer: dlt merge, first": "floor: first, 5000 rows",
    "peer: dlt merge, re-load 3800 existing": "floor: re-import, 3800 existing",
}


def markdown(results: dict[str, Any], repeat: int) -> str:
    lines = ["# Benchmarks", "",
             "`.venv/bin/python bench/bench_import.py --write docs/benchmarks.md` "
             "(needs `pip install -e '.[bench]'`)",
             "rewrites the sections it measures and keeps the others; "
             "`bench/bench_targets.py --write",
             "docs/benchmarks.md` rewrites \"Targets, from one run\" only. "
             "The machine line below is the",
             "last `bench_import.py` run's; each other section names its own run.", ""]
    machine = results.get("machine", {})
    lines += ["Machine and versions: " + ", ".join(f"{k} {v}" for k, v in machine.items()) + ".",
              ""]
    table: dict[str, Samples] = results.get("interleaved", {})
    if table:
        lines += [f"## 5000 rows, side by side ({repeat} interleaved repetitions)", "",
                  "![5000-row import, floor and peers](benchmarks.png)", "",
                  "| measurement | median s | min s | max s | x its floor (median) |",
                  "|---|---:|---:|---:|---:|"]
        for label, samples in table.items():
            floor = table.get(FLOOR_OF.get(label, ""))
            ratio = f"{samples.median / floor.median:.2f}" if floor else "1.00"
            lines.append(f"| {label} | {samples.median:.4f} | {samples.low:.4f} | "
                         f"{samples.high:.4f} | {ratio} |")
        lines.append("")
    if "rss" in results:
        rss = results["rss"]
        lines += ["## Memory", "",
                  "Service RSS (its process and its import worker processes): "
                  f"{rss['baseline_mb']:.0f} MB idle, peak {rss['peak_mb']:.0f} MB "
                  f"during a {rss['body_mb']:.2f} MB request (5000 rows; sampled every 5 ms, "
                  "worst of 3).", ""]
    if "sustained" in results:
        lines += ["## Sustained, 4 tenants importing at once", "",
                  "| service | rows/s |", "|---|---:|"]
        lines += [f"| {label} | {rate:,.0f} |" for label, rate in results["sustained"].items()]
        lines.append("")
    if "history" in results:
        history = results["history"]
        lines += ["## Cost as the tables grow", "",
                  f"Tenant with history: {history['projects']:,} projects, "
                  f"{history['memberships']:,} memberships, {history['occurrences']:,} anomaly "
                  f"occurrences ({history['old_occurrences']:,} of them past retention) over "
                  f"{history['days']} daily batches, {history['missing']:,} projects missing their "
                  f"partner, DS and RM every day (3 open problems each); loaded in "
                  f"{history['seconds']} s.", ""]
    growth: dict[str, Samples] = results.get("growth", {})
    if growth:
        lines += ["| 5000-row import | median s | min s | max s | x empty tenant |",
                  "|---|---:|---:|---:|---:|"]
        for label, samples in growth.items():
            kind = label.split(": ", 1)[1]
            empty = growth.get(f"empty tenant: {kind}")
            ratio = f"{samples.median / empty.median:.2f}" if empty else "-"
            lines.append(f"| {label} | {samples.median:.4f} | {samples.low:.4f} | "
                         f"{samples.high:.4f} | {ratio} |")
        lines.append("")
    if results.get("reads"):
        lines += ["## Operator reads over the history while two tenants import", "",
                  "| request | median s | p95 s | max s |", "|---|---:|---:|---:|"]
        for label, figures in results["reads"].items():
            if "median" not in figures:
                lines.append(f"| {label}: " + ", ".join(
                    f"{k} {v:,.0f}" for k, v in figures.items()) + " | | | |")
                continue
            lines.append(f"| {label} | {figures['median']:.4f} | {figures['p95']:.4f} | "
                         f"{figures['max']:.4f} |")
        lines.append("")
    if "retention" in results:
        ret = results["retention"]
        lines += ["## Retention during imports", "",
                  f"`projects-import cleanup` took {ret['cleanup_seconds']:.1f} s "
                  f"({ret['cleanup_output']}).", "",
                  "| imports running beside it | median s without | median s during | "
                  "max s during | imports during |", "|---|---:|---:|---:|---:|"]
        for label, figures in ret.items():
            if isinstance(figures, dict) and "median_without" in figures:
                cells = [figures[k] for k in ("median_without", "median_during", "max_during")]
                shown = " | ".join("-" if c is None else f"{c:.3f}" for c in cells)
                lines.append(f"| {label} | {shown} | {figures['imports_during']} |")
        waits = ret.get("lock_waits") or {}
        if waits:
            lines += ["", "Imports that waited on a lock for more than 100 ms meanwhile "
                      f"(PostgreSQL's `log_lock_waits`): {waits['count']}, the longest "
                      f"{waits['max_ms']:.0f} ms; deadlocks: {waits['deadlocks']}."]
        lines.append("")
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table: dict[str, Samples] = results.get("interleaved", {})
    if not table:
        return
    labels = list(table)
    medians = [table[k].median * 1000 for k in labels]
    low = [m - table[k].low * 1000 for m, k in zip(medians, labels, strict=True)]
    high = [table[k].high * 1000 - m for m, k in zip(medians, labels, strict=True)]
    colors = ["#1f77b4" if k.startswith("import") else "#7f7f7f" if k.startswith("floor")
              else "#ff7f0e" for k in labels]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.2))
    ax.barh(labels, medians, xerr=[low, high], color=colors, capsize=3)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds (median; bars: min-max), log scale")
    ax.set_title("5000 rows: the import (blue), the floor (grey), peers (orange)")
    for y, (value, label) in enumerate(zip(medians, labels, strict=True)):
        ax.text(table[label].high * 1000 * 1.04, y, f"{value:.0f} ms", va="center", fontsize=8)
    ax.set_xlim(right=max(table[k].high for k in labels) * 1000 * 1.6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
