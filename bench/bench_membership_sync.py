"""The membership sync when the statistics lag behind, and for small calls.

    .venv/bin/python bench/bench_membership_sync.py [--previous REV] [--rounds 3]

Growth: in a fresh database whose membership tables were analyzed while empty (autovacuum
off on them, as when they grow faster than autoanalyze), four tenants import 5,000 rows and
re-import them back to back through one connection (so PL/pgSQL's cached plans count too);
each submit is timed. Small calls: a tenant of 20,000 projects (and 10,000 of two others)
whose RM directory and partner aliases changed; timed, each rolled back: the backfill of 20
project keys (a directory fix's), the sync alone for those 20 rows, and the backfill of the
whole tenant, with the membership tables' statistics from when they were empty, then
analyzed. --previous REV also times the definition of fn_projects_sync_memberships_rows at
that git revision (growth: its own database; small calls: swapped in, alternated).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from harness import ROOT, Cluster, add_tenant, make_rows

from projects_import.db.queries import query
from projects_import.imports.contract import parse_payload
from projects_import.imports.service import submit_params

DEFINITION = "projects_import/sql/definitions/functions/fn_projects_sync_memberships_rows.sql"
MEMBERSHIPS = ("project_org_memberships", "project_user_memberships")
KEYS = [f"STG-{i:012d}" for i in range(7000, 7140, 7)]  # 20 projects, 'Unknown Civil' ones
CALLS = {
    "backfill, 20 keys": ("select fn_projects_membership_backfill('BIG', %s)", (KEYS,)),
    "sync alone, 20 rows": (
        "select fn_projects_sync_memberships_rows(null, array_agg(tenant_id), "
        "array_agg(stage_application), array_agg(partner_org), array_agg(ds_username), "
        "array_agg(rm_username)) from projects "
        "where tenant_id = 'BIG' and stage_application = any (%s)", (KEYS,)),
    "backfill, whole tenant": ("select fn_projects_membership_backfill('BIG', null::text[])",
                               ()),
}


def submit(conn: psycopg.Connection[Any], tenant_id: str, rows: list[dict[str, Any]],
           batch: str) -> float:
    request = parse_payload({"tenant_id": tenant_id, "batch_id": batch, "rows": rows},
                            max_rows=5000)
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(query("import_submit"), submit_params(request))
    return time.perf_counter() - started


def stale(conn: psycopg.Connection[Any]) -> None:
    for table in MEMBERSHIPS:
        conn.execute(f"alter table {table} set (autovacuum_enabled = off)")
        conn.execute(f"analyze {table}")


def growth(definition: str) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp))
        try:
            with cluster.connect(autocommit=True) as conn:
                conn.execute(definition)
                stale(conn)
                out = []
                for tenant in ("G1", "G2", "G3", "G4"):
                    add_tenant(cluster.url, tenant)
                    first = submit(conn, tenant, make_rows(5000), "first")
                    again = submit(conn, tenant, make_rows(3800, bump=1)
                                   + make_rows(1200, offset=5000), "second")
                    out.append(f"{tenant} {first * 1000:.0f} / {again * 1000:.0f}")
                return out
        finally:
            cluster.close()


def small_calls(definitions: dict[str, str], rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp))
        try:
            with cluster.connect(autocommit=True) as conn:
                stale(conn)
                for tenant in ("A", "B"):
                    add_tenant(cluster.url, tenant)
                    submit(conn, tenant, make_rows(5000), "first")
                add_tenant(cluster.url, "BIG")
                for k in range(4):
                    submit(conn, "BIG", make_rows(5000, offset=k * 5000), f"b{k}")
                conn.execute("update rm_directory set preferred_username = 'flast2' "
                             "where tenant_id = 'BIG'")
                conn.execute("insert into partner_normalization (tenant_id, alias, canonical) "
                             "values ('BIG', 'Unknown Civil', 'Unknown Civil Pty')")
                for state in ("statistics from the empty tables", "analyzed"):
                    if state == "analyzed":
                        conn.execute(f"analyze {', '.join(MEMBERSHIPS)}")
                    print(f"  {state}:")
                    times: dict[tuple[str, str], list[float]] = {}
                    names = list(definitions)
                    for round_ in range(rounds):
                        for name in names if round_ % 2 == 0 else names[::-1]:
                            conn.execute(definitions[name])
                            for call, (text, params) in CALLS.items():
                                for _ in range(1 if "whole" in call else 3):
                                    conn.execute("begin")
                                    started = time.perf_counter()
                                    conn.execute(text, params)
                                    elapsed = time.perf_counter() - started
                                    conn.execute("rollback")
                                    times.setdefault((call, name), []).append(elapsed * 1000)
                    for call in CALLS:
                        for name in names:
                            values = times[(call, name)]
                            median = statistics.median(values)
                            print(f"    {call:24s} {name:9s} median {median:8.1f} ms"
                                  f"  max {max(values):8.1f}  (n={len(values)})")
        finally:
            cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", help="a git revision whose definition is timed too")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    definitions = {"current": (ROOT / DEFINITION).read_text()}
    if args.previous:
        definitions["previous"] = subprocess.run(
            ["git", "show", f"{args.previous}:{DEFINITION}"], cwd=ROOT, check=True,
            capture_output=True, text=True).stdout
    print("growth: first / re-import, ms")
    for name, definition in definitions.items():
        print(f"  {name}: " + ", ".join(growth(definition)))
    print("small calls, each rolled back:")
    small_calls(definitions, args.rounds)


if __name__ == "__main__":
    main()
