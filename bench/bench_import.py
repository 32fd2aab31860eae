"""Import benchmarks on the embedded default (SPEC §7), side by side in one run.

    .venv/bin/python bench/bench_import.py [--repeat 5] [--anomalies 1000000] \
        [--write docs/benchmarks.md]

Measures, through the real HTTP service on loopback:
  * a 5000-row first import,
  * a 5000-row re-import where 3800 rows exist and change (1200 new),
  * a replay of the same batch,
  * GET /anomalies (default and stats=true) over N anomaly rows,
next to
  * the floor: COPY of the same rows into a temp table + one INSERT … ON CONFLICT into projects,
  * a naive row-by-row merge (one SELECT + INSERT/UPDATE round trip per row, as an ORM would do).
Results are medians of --repeat runs, each on a fresh database.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from projects_import.auth import mint_token
from projects_import.db import embedded, migrations
from projects_import.settings import Settings
from tests.support import LiveServer, create_tenant

SECRET = "bench-jwt-secret-0123456789abcdef0123456789"
COLUMNS = ("stage_application", "delivery_partner", "developer_class", "relationship_manager",
           "deployment_specialist", "residential", "commercial", "essential",
           "stage_application_created")


def make_rows(n: int, *, offset: int = 0, bump: int = 0) -> list[dict[str, Any]]:
    return [{
        "stage_application": f"STG-{i:012d}",
        "delivery_partner": "Fulton Hogan" if i % 7 else "Unknown Civil",
        "developer_class": "Class 2",
        "relationship_manager": "First Last" if i % 13 else "Nobody Known",
        "deployment_specialist": "PREFERRED_USERNAME" if i % 11 else "ghost",
        "residential": str(i % 50 + bump), "commercial": "5", "essential": "",
        "stage_application_created": "2025-04-01",
    } for i in range(offset, offset + n)]


def seed_directories(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into partner_normalization (tenant_id, alias, canonical) "
                     "values ('TELCO', 'Fulton Hogan', 'Fulton Hogan Pty Ltd')")
        conn.execute("insert into ds_directory (tenant_id, preferred_username) "
                     "values ('TELCO', 'PREFERRED_USERNAME')")
        conn.execute("insert into rm_directory (tenant_id, preferred_username, display_name) "
                     "values ('TELCO', 'flast', 'First Last')")


class Bench:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.template = f"bench_template_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.template)))
        migrations.migrate(embedded.with_database(admin_url, self.template))
        self.made: list[str] = [self.template]

    def fresh(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(self.template)))
        self.made.append(name)
        return embedded.with_database(self.admin_url, name)

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in reversed(self.made):
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(name)))


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def service_run(bench: Bench, home: Path) -> dict[str, float]:
    url = bench.fresh()
    secret = create_tenant(url, "TELCO")
    seed_directories(url)
    settings = Settings(DATABASE_URL=url, PROJECTS_IMPORT_HOME=str(home), JWT_SECRET=SECRET,
                        PROJECTS_IMPORT_SCHEDULER="false")
    server = LiveServer(settings, url).start()
    out: dict[str, float] = {}
    try:
        with httpx.Client(base_url=server.url, timeout=120,
                          headers={"Authorization": f"Bearer {secret}"}) as client:
            def post(rows: list[dict[str, Any]], batch_id: str) -> None:
                r = client.post("/import-projects", json={
                    "tenant_id": "TELCO", "source": "bench", "batch_id": batch_id, "rows": rows})
                assert r.status_code == 200, r.text

            first = make_rows(5000)
            out["first import, 5000 rows"] = timed(lambda: post(first, "b1"))
            # 3800 existing rows change, 1200 are new
            second = make_rows(3800, bump=1) + make_rows(1200, offset=5000)
            out["re-import, 5000 rows (3800 existing)"] = timed(lambda: post(second, "b2"))
            out["replay, 5000 rows"] = timed(lambda: post(second, "b2"))
    finally:
        server.stop()
    return out


def floor_run(bench: Bench) -> float:
    """COPY the rows into a temp table, then one INSERT … ON CONFLICT into projects."""
    url = bench.fresh()
    create_tenant(url, "TELCO")
    rows = make_rows(5000)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        conn.execute("create temp table incoming (stage_application text, delivery_partner "
                     "text, developer_class text, relationship_manager text, "
                     "deployment_specialist text, residential text, commercial text, "
                     "essential text, stage_application_created text) on commit drop")
        with conn.cursor().copy(f"copy incoming ({', '.join(COLUMNS)}) from stdin") as copy:
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])
        conn.execute("""
            insert into projects (tenant_id, stage_application, delivery_partner,
                developer_class, relationship_manager, deployment_specialist, residential,
                commercial, essential, stage_application_created)
            select 'TELCO', stage_application, delivery_partner, developer_class,
                   relationship_manager, deployment_specialist,
                   coalesce(nullif(residential, '')::int, 0),
                   coalesce(nullif(commercial, '')::int, 0),
                   coalesce(nullif(essential, '')::int, 0),
                   nullif(stage_application_created, '')::date
              from incoming
            on conflict (tenant_id, stage_application) do update
               set residential = excluded.residential""")
        conn.commit()
        return time.perf_counter() - started


def naive_run(bench: Bench) -> float:
    """Row by row: look the project up, then insert or update it (an ORM's default pattern)."""
    url = bench.fresh()
    create_tenant(url, "TELCO")
    rows = make_rows(5000)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for row in rows:
            found = conn.execute("select 1 from projects where tenant_id = %s and "
                                 "stage_application = %s",
                                 ("TELCO", row["stage_application"])).fetchone()
            values = (row["delivery_partner"], row["developer_class"],
                      row["relationship_manager"], row["deployment_specialist"],
                      int(row["residential"] or 0), int(row["commercial"] or 0),
                      int(row["essential"] or 0), row["stage_application_created"])
            if found:
                conn.execute("update projects set delivery_partner = %s, developer_class = %s,"
                             " relationship_manager = %s, deployment_specialist = %s, "
                             "residential = %s, commercial = %s, essential = %s, "
                             "stage_application_created = %s where tenant_id = 'TELCO' and "
                             "stage_application = %s", (*values, row["stage_application"]))
            else:
                conn.execute("insert into projects (tenant_id, stage_application, "
                             "delivery_partner, developer_class, relationship_manager, "
                             "deployment_specialist, residential, commercial, essential, "
                             "stage_application_created) values ('TELCO', %s, %s, %s, %s, %s, "
                             "%s, %s, %s, %s)", (row["stage_application"], *values))
        conn.commit()
        return time.perf_counter() - started


def anomalies_run(bench: Bench, home: Path, count: int) -> dict[str, float]:
    """GET /anomalies over `count` anomaly rows (generated server-side in one statement)."""
    url = bench.fresh()
    create_tenant(url, "TELCO")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""
            insert into import_anomalies (tenant_id, batch_id, row_index, project_key,
                anomaly_type, severity, payload_excerpt, correlation_id, created_at)
            select 'TELCO', md5((g / 5000)::text)::uuid, g %% 5000, 'STG-' || g,
                   (array['UNKNOWN_DELIVERY_PARTNER','UNKNOWN_DS','UNKNOWN_RM'])[g %% 3 + 1],
                   (array['warning','error','error'])[g %% 3 + 1],
                   '{"stage_application": "STG-' || g || '"}', gen_random_uuid(),
                   now() - make_interval(secs => g * 0.5)
              from generate_series(1, %s) g""", (count,))
        conn.execute("analyze import_anomalies")
    settings = Settings(DATABASE_URL=url, PROJECTS_IMPORT_HOME=str(home), JWT_SECRET=SECRET,
                        PROJECTS_IMPORT_SCHEDULER="false")
    server = LiveServer(settings, url).start()
    token = mint_token(SECRET, sub="bench", role="operator")
    out: dict[str, float] = {}
    try:
        with httpx.Client(base_url=server.url, timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            probe = client.get("/anomalies")
            if probe.status_code != 200:
                return {}
            for label, params in (("GET /anomalies (100 newest, 24 h)", {}),
                                  ("GET /anomalies?stats=true (24 h)", {"stats": "true"}),
                                  ("GET /anomalies?windowHours=720&limit=1000",
                                   {"windowHours": "720", "limit": "1000"})):
                samples = [timed(lambda p=params: client.get("/anomalies", params=p)
                                 .raise_for_status()) for _ in range(5)]
                out[label] = statistics.median(samples)
    finally:
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--anomalies", type=int, default=1_000_000)
    parser.add_argument("--write", type=Path, help="write the results table to this Markdown file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        admin = embedded.admin_uri(home / "embedded")
        bench = Bench(admin)
        try:
            samples: dict[str, list[float]] = {}
            for _ in range(args.repeat):
                for label, seconds in service_run(bench, home).items():
                    samples.setdefault(label, []).append(seconds)
                samples.setdefault("floor: COPY + one INSERT … ON CONFLICT, 5000 rows",
                                   []).append(floor_run(bench))
                samples.setdefault("peer: naive row-by-row upsert, 5000 rows",
                                   []).append(naive_run(bench))
            results = {label: statistics.median(v) for label, v in samples.items()}
            results.update({f"{k} over {args.anomalies:,} anomalies": v
                            for k, v in anomalies_run(bench, home, args.anomalies).items()})
        finally:
            bench.drop_all()
            embedded.stop_server(home / "embedded")

    lines = ["| measurement | median seconds |", "|---|---:|"]
    lines += [f"| {label} | {seconds:.3f} |" for label, seconds in results.items()]
    table = "\n".join(lines)
    print(table)
    if args.write:
        cpu = platform.processor() or platform.machine()
        header = (f"Run on {time.strftime('%Y-%m-%d')}, {cpu},"
                  f" Python {platform.python_version()}, embedded PostgreSQL, "
                  f"{args.repeat} repetitions (median).\n\n")
        # keep the hand-written sections (from the first "## " heading on)
        previous = args.write.read_text() if args.write.exists() else ""
        notes = previous[previous.index("\n## "):] if "\n## " in previous else ""
        args.write.write_text("# Benchmarks\n\n`.venv/bin/python bench/bench_import.py "
                              f"--write {args.write}`\n\n" + header + table + "\n" + notes)


if __name__ == "__main__":
    main()
