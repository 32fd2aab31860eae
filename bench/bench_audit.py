"""What the audit (write, audit, publish; migration 0037) costs a 5,000-row import.

    .venv/bin/python bench/bench_audit.py [--repeat 5]

One embedded PostgreSQL. Each measurement is one transaction on one connection, the rows as
the service sends them (one array per column), interleaved (the order rotates per repetition):

* `audited`: fn_projects_import_submit_columns as 0037 defines it (stage; snapshot; merge in
  a savepoint; measure; hold or publish);
* `unaudited`: what the submit did before 0037 — fn_projects_import_stage, then
  fn_projects_import_merge_columns — on a tenant of its own with the same data;
* for a first import (5,000 new rows), a re-import (3,800 existing rows changed + 1,200 new:
  the audit applies and passes) and a broken re-import (the 5,000 rows with every RM blank:
  audited, it is merged, measured, rolled back to the savepoint and held).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from harness import Cluster, add_tenant, make_rows

from projects_import.db.queries import query
from projects_import.imports.contract import parse_payload
from projects_import.imports.service import submit_params

ROWS = 5000
UNAUDITED = """
select public.fn_projects_import_stage(
    %(tenant_id)s, %(source)s, %(batch_id)s, %(batch_checksum)s, %(checksum_version)s::smallint,
    %(raw)s, cardinality(%(stage_application)s::text[]), %(correlation_id)s, %(validation)s);
"""
MERGE = """
select public.fn_projects_import_merge_columns(
    %(tenant_id)s, %(source)s, %(batch_id)s, %(correlation_id)s,
    %(stage_application)s::text[], %(delivery_partner)s::text[], %(developer_class)s::text[],
    %(relationship_manager)s::text[], %(deployment_specialist)s::text[],
    %(rm_preferred_username)s::text[], %(residential)s::integer[], %(commercial)s::integer[],
    %(essential)s::integer[], %(premises_count)s::integer[],
    %(stage_application_created)s::text[]);
"""


def params(tenant_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    request = parse_payload({"tenant_id": tenant_id, "source": "bench",
                             "batch_id": str(uuid.uuid4()), "rows": rows}, max_rows=ROWS)
    return submit_params(request)


def run(url: str, how: str, values: dict[str, Any]) -> tuple[float, str]:
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        if how == "audited":
            row = conn.execute(query("import_submit"), values).fetchone()
            outcome = row[0]["outcome"] if row else "?"
        else:
            conn.execute(UNAUDITED, values)
            conn.execute(MERGE, values)
            outcome = "merged"
        conn.commit()
        return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    steps = (("first import, 5000 new rows", make_rows(ROWS)),
             ("re-import, 3800 existing changed + 1200 new",
              make_rows(3800, bump=1) + make_rows(1200, offset=ROWS)),
             ("broken re-import, every RM blank",
              [{**row, "relationship_manager": ""} for row in make_rows(ROWS)]))
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as home:
        cluster = Cluster(Path(home))
        try:
            for rep in range(-1, args.repeat):  # -1 warms up and is not counted
                order = ["audited", "unaudited"]
                if rep % 2:
                    order.reverse()
                tenants = {how: f"{how[0].upper()}{rep + 1}" for how in order}
                for tenant in tenants.values():
                    add_tenant(cluster.url, tenant)
                for label, rows in steps:
                    for how in order:
                        seconds, outcome = run(cluster.url, how, params(tenants[how], rows))
                        if rep >= 0:
                            out.setdefault(f"{label}: {how} ({outcome})", []).append(seconds)
                print(f"  repetition {rep + 1}/{args.repeat} done", flush=True)
            print(f"PostgreSQL {cluster.server_version()}, {args.repeat} repetitions")
            print(f"| {'transaction':<62} | median ms | min ms | max ms |")
            print(f"|{'-' * 64}|----------:|-------:|-------:|")
            for name in out:
                ms = [v * 1000 for v in out[name]]
                print(f"| {name:<62} | {statistics.median(ms):9.1f} | {min(ms):6.1f} | "
                      f"{max(ms):6.1f} |")
        finally:
            cluster.close()


if __name__ == "__main__":
    main()
