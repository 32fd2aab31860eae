"""Where the merge spends its time: auto_explain of every statement inside
fn_projects_import_submit_columns (the service's `import_submit`), for a 5000-row first
import and a re-import (3800 existing).

    .venv/bin/python bench/explain_merge.py [--full] [--history 0]

Prints each nested statement's duration (slowest first); --full prints the plans too
(EXPLAIN ANALYZE, BUFFERS). --history N first loads a tenant history of N projects (and
5 anomaly occurrences per project) to see how the plans change as tables grow.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from dataset import seed_history
from harness import Cluster, add_tenant, make_rows

from projects_import.db.queries import query
from projects_import.imports.contract import parse_payload
from projects_import.imports.service import submit_params


def submit(conn: psycopg.Connection[Any], tenant_id: str, rows: list[dict[str, Any]],
           batch: str) -> list[str]:
    request = parse_payload({"tenant_id": tenant_id, "batch_id": batch, "rows": rows},
                            max_rows=5000)
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
    with conn.transaction():
        conn.execute("load 'auto_explain'")
        for name, value in (("log_min_duration", "0"), ("log_analyze", "on"),
                            ("log_buffers", "on"), ("log_nested_statements", "on"),
                            ("log_timing", "on"), ("log_triggers", "on"), ("log_level", "notice")):
            conn.execute(f"set local auto_explain.{name} = {value}")
        conn.execute(query("import_submit"), submit_params(request))
    conn.remove_notice_handler(conn._notice_handlers[-1])  # type: ignore[attr-defined]
    return notices


def summarize(notices: list[str], full: bool) -> None:
    timed = []
    for notice in notices:
        match = re.search(r"duration: ([0-9.]+) ms", notice)
        query = re.search(r"Query Text: (.*)", notice)
        if match and query:
            timed.append((float(match.group(1)), query.group(1).strip()[:110], notice))
    outer = max(t for t, _, _ in timed) if timed else 0
    print(f"  whole submit: {outer:.1f} ms")
    for duration, text, notice in sorted(timed, reverse=True)[1:15]:
        print(f"  {duration:8.1f} ms  {text}")
        if full:
            print("\n".join("        " + line for line in notice.splitlines()[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--history", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp))
        try:
            tenant = "EXPLAIN"
            add_tenant(cluster.url, tenant)
            if args.history:
                print(seed_history(cluster.url, tenant, projects=args.history,
                                   occurrences=args.history * 5, old=0))
            with cluster.connect(autocommit=True) as conn:
                warm = "WARM"
                add_tenant(cluster.url, warm)
                submit(conn, warm, make_rows(5000, offset=50_000_000), "warm")
                for label, rows, batch in (
                        ("first import, 5000 rows", make_rows(5000), "b1"),
                        ("re-import, 3800 existing", make_rows(3800, bump=1)
                         + make_rows(1200, offset=5000), "b2")):
                    print(label)
                    summarize(submit(conn, tenant, rows, batch), args.full)
        finally:
            cluster.close()


if __name__ == "__main__":
    main()
