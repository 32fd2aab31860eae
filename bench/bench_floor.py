"""The import next to its contract floor, interleaved, in one run.

    .venv/bin/python bench/bench_floor.py [--repeat 5] [--json out.json] [--without-foreign-keys]

The contract floor writes what an import of these rows must write, and nothing else, into
tables with the same columns, constraints and indexes (`create table floor.X (like public.X
including all)`), as bulk SQL that already knows every answer (directories resolved in Python
before the clock starts): the raw body staged as jsonb, projects upserted, one org and two
user memberships per row (kept when they already exist), one occurrence per unknown DS with
its problem upserted, and an event per new problem. One statement, one round trip, one commit.
A second floor ("all misses") also writes the partner and RM occurrences the import writes;
a third ("with foreign keys") is the first with the foreign keys `like` leaves out (tenant_id
to tenants on every table, an event to its problem), which the real tables check row by row.

Each repetition times, in a rotating order: the import end to end over HTTP (one keep-alive
connection, as `send` uses), the same import with the rollup triggers of migration 0039
switched off, and both floors, for a first import (5000 rows) and a re-import (3800 existing
rows changed, 1200 new), each on fresh tenants. Medians of --repeat repetitions.
--without-foreign-keys adds one more step: the import with the foreign keys it checks row by
row dropped for that step (put back `not valid` after it), to weigh what they cost.

Every step's tenant id sorts before every earlier one (`harness.descending_tenant_ids`), in
the real tables and in the floor's copies alike: with ids in ascending order the floor's copies,
which hold only the floor's tenants, were always written at the right end of their indexes
while the import, sharing its tables with the other variants' tenants, never was.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import psycopg
from harness import (
    Cluster,
    Samples,
    add_tenant,
    body,
    descending_tenant_ids,
    importer,
    make_rows,
    post,
    serving,
)

ROWS = 5000
FLOOR_TABLES = ("projects", "project_org_memberships", "project_user_memberships",
                "staging_imports", "import_anomalies", "import_problems",
                "import_problem_events")
TRIGGERS = {"import_problems": ("import_problems_rollups_insert", "import_problems_rollups_update",
                                "import_problems_rollups_delete"),
            "import_anomalies": ("import_anomalies_rollups_insert",
                                 "import_anomalies_rollups_update",
                                 "import_anomalies_rollups_delete")}
# The foreign keys an import checks row by row (--without-foreign-keys drops them for one step).
IMPORT_FKS = {
    "projects": ("projects_tenant_id_fkey",
                 "foreign key (tenant_id) references public.tenants (tenant_id) on delete cascade"),
    "import_problems": ("import_problems_tenant_id_fkey",
                        "foreign key (tenant_id) references public.tenants (tenant_id) "
                        "on delete cascade"),
    "import_problem_events": ("import_problem_events_tenant_id_problem_id_fkey",
                              "foreign key (tenant_id, problem_id) references "
                              "public.import_problems (tenant_id, id) on delete cascade"),
    "staging_imports": ("staging_imports_tenant_id_fkey",
                        "foreign key (tenant_id) references public.tenants (tenant_id) "
                        "on delete cascade"),
}

FLOOR_SQL = """
with staged as (
    insert into floor.staging_imports (tenant_id, batch_id, source, raw, batch_checksum,
                                       row_count, correlation_id)
    values (%(t)s, %(batch)s, 'bench', %(raw)s::jsonb, %(checksum)s, %(n)s, %(corr)s)
    returning id
), r as (
    select * from unnest(%(key)s::text[], %(dp)s::text[], %(dc)s::text[], %(rm)s::text[],
                         %(ds)s::text[], %(res)s::int[], %(com)s::int[], %(ess)s::int[],
                         %(created)s::date[], %(org)s::text[], %(dsu)s::text[],
                         %(rmu)s::text[], %(excerpt)s::text[])
        with ordinality as r(key, dp, dc, rm, ds, res, com, ess, created, org, dsu, rmu,
                             excerpt, i)
), p as (
    insert into floor.projects as p (tenant_id, stage_application, delivery_partner,
        developer_class, relationship_manager, deployment_specialist, rm_preferred_username,
        residential, commercial, essential, premises_count, stage_application_created,
        partner_org, ds_username, rm_username, source, last_batch_id, last_correlation_id)
    select %(t)s, key, dp, dc, rm, ds, rmu, res, com, ess, res + com + ess, created, org, dsu,
           rmu, 'bench', %(batch)s, %(corr)s
      from r
    on conflict (tenant_id, stage_application) do update
       set delivery_partner = excluded.delivery_partner,
           developer_class = excluded.developer_class,
           relationship_manager = excluded.relationship_manager,
           deployment_specialist = excluded.deployment_specialist,
           rm_preferred_username = excluded.rm_preferred_username,
           residential = excluded.residential, commercial = excluded.commercial,
           essential = excluded.essential, premises_count = excluded.premises_count,
           stage_application_created = excluded.stage_application_created,
           partner_org = excluded.partner_org, ds_username = excluded.ds_username,
           rm_username = excluded.rm_username, last_batch_id = excluded.last_batch_id,
           last_correlation_id = excluded.last_correlation_id, updated_at = now()
     where (p.delivery_partner, p.developer_class, p.relationship_manager,
            p.deployment_specialist, p.residential, p.commercial, p.essential,
            p.stage_application_created)
           is distinct from
           (excluded.delivery_partner, excluded.developer_class, excluded.relationship_manager,
            excluded.deployment_specialist, excluded.residential, excluded.commercial,
            excluded.essential, excluded.stage_application_created)
    returning 1
), om as (
    insert into floor.project_org_memberships (tenant_id, stage_application, org_name,
                                               batch_id)
    select %(t)s, key, org, %(batch)s from r where org is not null
    on conflict (tenant_id, stage_application, role, org_name) where ended_at is null
    do nothing
    returning 1
), um as (
    insert into floor.project_user_memberships (tenant_id, stage_application, username, role,
                                                batch_id)
    select %(t)s, r.key, u.username, u.role, %(batch)s
      from r cross join lateral (values ('deployment_specialist', r.dsu),
                                        ('relationship_manager', r.rmu)) u(role, username)
     where u.username is not null
    on conflict (tenant_id, stage_application, role, username) where ended_at is null
    do nothing
    returning 1
), miss as (
    select r.i, r.key, m.anomaly_type, m.severity, m.value, r.excerpt
      from r cross join lateral (values ('UNKNOWN_DS', 'error', r.ds, r.dsu),
                                        ('UNKNOWN_DELIVERY_PARTNER', 'warning', r.dp, r.org),
                                        ('UNKNOWN_RM', 'warning', r.rm, r.rmu))
                              m(anomaly_type, severity, value, answer)
     where m.answer is null and (%(all)s or m.anomaly_type = 'UNKNOWN_DS')
), pr as (
    insert into floor.import_problems as pr (tenant_id, project_key, anomaly_type, severity,
        unknown_value, unknown_key, last_batch_id, payload_excerpt)
    select %(t)s, key, anomaly_type, severity, value, lower(value), %(batch)s, excerpt
      from miss
    on conflict (tenant_id, project_key, anomaly_type, unknown_key) do update
       set last_seen_at = now(), occurrences = pr.occurrences + 1,
           last_batch_id = excluded.last_batch_id
    returning pr.id, pr.project_key, pr.anomaly_type, (xmax = 0) as inserted
), an as (
    insert into floor.import_anomalies (tenant_id, batch_id, staging_id, row_index,
        project_key, anomaly_type, severity, payload_excerpt, correlation_id, problem_id)
    select %(t)s, %(batch)s, (select id from staged), miss.i - 1, miss.key,
           miss.anomaly_type, miss.severity, miss.excerpt, %(corr)s, pr.id
      from miss join pr on pr.project_key = miss.key and pr.anomaly_type = miss.anomaly_type
    returning 1
), ev as (
    insert into floor.import_problem_events (tenant_id, problem_id, actor, action)
    select %(t)s, pr.id, 'import', 'opened' from pr where pr.inserted
    returning 1
)
select (select count(*) from p) as projects, (select count(*) from om) as orgs,
       (select count(*) from um) as users, (select count(*) from an) as occurrences,
       (select count(*) from ev) as opened
"""


def floor_params(tenant_id: str, batch: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every answer, known before the clock starts: the bench directories resolve
    'Fulton Hogan', 'PREFERRED_USERNAME' and 'First Last' (harness.add_tenant)."""
    raw = json.dumps({"tenant_id": tenant_id, "batch_id": batch, "rows": rows})

    def number(value: str) -> int:
        return int(value) if value else 0

    return {
        "t": tenant_id, "batch": uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{batch}"),
        "raw": raw, "checksum": hashlib.sha256(raw.encode()).hexdigest(), "n": len(rows),
        "corr": uuid.uuid4(),
        "key": [r["stage_application"] for r in rows],
        "dp": [r["delivery_partner"] for r in rows],
        "dc": [r["developer_class"] for r in rows],
        "rm": [r["relationship_manager"] for r in rows],
        "ds": [r["deployment_specialist"] for r in rows],
        "res": [number(r["residential"]) for r in rows],
        "com": [number(r["commercial"]) for r in rows],
        "ess": [number(r["essential"]) for r in rows],
        "created": [r["stage_application_created"] or None for r in rows],
        "org": ["Fulton Hogan Pty Ltd" if r["delivery_partner"] == "Fulton Hogan" else None
                for r in rows],
        "dsu": ["PREFERRED_USERNAME" if r["deployment_specialist"] == "PREFERRED_USERNAME"
                else None for r in rows],
        "rmu": ["flast" if r["relationship_manager"] == "First Last" else None for r in rows],
        "excerpt": [json.dumps(r)[:500] if (r["delivery_partner"] != "Fulton Hogan"
                                            or r["deployment_specialist"] != "PREFERRED_USERNAME"
                                            or r["relationship_manager"] != "First Last")
                    else None for r in rows],
    }


def make_floor_tables(conn: psycopg.Connection[Any]) -> None:
    for schema in ("floor", "floor_fk"):
        conn.execute(f"create schema if not exists {schema}")
        for table in FLOOR_TABLES:
            conn.execute(f"create table if not exists {schema}.{table} "
                         f"(like public.{table} including all)")
    for table in FLOOR_TABLES:
        conn.execute(f"alter table floor_fk.{table} add foreign key (tenant_id) "
                     f"references public.tenants (tenant_id) on delete cascade")
    conn.execute("alter table floor_fk.import_problem_events add foreign key "
                 "(tenant_id, problem_id) references floor_fk.import_problems (tenant_id, id) "
                 "on delete cascade")
    conn.commit()


def run_floor(conn: psycopg.Connection[Any], params: dict[str, Any],
              schema: str = "floor") -> float:
    text = FLOOR_SQL.replace("floor.", f"{schema}.")
    started = time.perf_counter()
    conn.execute(text, params).fetchone()
    conn.commit()
    return time.perf_counter() - started


def set_triggers(conn: psycopg.Connection[Any], enabled: bool) -> None:
    verb = "enable" if enabled else "disable"
    for table, names in TRIGGERS.items():
        for name in names:
            conn.execute(f"alter table public.{table} {verb} trigger {name}")
    conn.commit()


def set_foreign_keys(conn: psycopg.Connection[Any], enabled: bool) -> None:
    """Drops the import's row-checked foreign keys, or puts them back `not valid` (new rows
    are checked exactly as before; the rows written meanwhile are not re-read)."""
    for table, (name, definition) in IMPORT_FKS.items():
        if enabled:
            conn.execute(f"alter table public.{table} add constraint {name} {definition} "
                         f"not valid")
        else:
            conn.execute(f"alter table public.{table} drop constraint {name}")
    conn.commit()


def interleaved(cluster: Cluster, server: harness.Serve, repeat: int,
                without_fks: bool = False) -> dict[str, Samples]:
    out: dict[str, Samples] = {}
    first_rows = make_rows(ROWS)
    second_rows = make_rows(3800, bump=1) + make_rows(1200, offset=ROWS)
    conn = cluster.connect()
    make_floor_tables(conn)
    new_tenant = descending_tenant_ids()

    for rep in range(-1, repeat):  # repetition -1 warms every path up and is not counted
        def imports(label: str, triggers: bool, fks: bool = True,
                    rep: int = rep) -> dict[str, float]:
            tenant = new_tenant(f"{'S' if triggers else 'X'}{'' if fks else 'K'}")
            secret = add_tenant(cluster.url, tenant)
            first = body(tenant, f"first-{rep}", first_rows)
            second = body(tenant, f"second-{rep}", second_rows)
            if not triggers:
                set_triggers(conn, False)
            if not fks:
                set_foreign_keys(conn, False)
            try:
                with importer(server, secret) as client:
                    return {f"{label}: first": harness.timed(lambda: post(client, first)),
                            f"{label}: re-import": harness.timed(lambda: post(client, second))}
            finally:
                if not triggers:
                    set_triggers(conn, True)
                if not fks:
                    set_foreign_keys(conn, True)

        def floors(label: str, prefix: str, every_miss: bool, schema: str = "floor",
                   rep: int = rep) -> dict[str, float]:
            tenant = new_tenant(prefix)
            add_tenant(cluster.url, tenant)  # the foreign keys' target; the bench directories
            first = {**floor_params(tenant, f"first-{rep}", first_rows), "all": every_miss}
            second = {**floor_params(tenant, f"second-{rep}", second_rows), "all": every_miss}
            return {f"{label}: first": run_floor(conn, first, schema),
                    f"{label}: re-import": run_floor(conn, second, schema)}

        steps: list[Callable[[], dict[str, float]]] = [
            lambda: imports("import", True),
            lambda: floors("contract floor", "F", False),
            lambda: imports("import, rollup triggers off", False),
            lambda: floors("contract floor, all misses", "A", True),
            lambda: floors("contract floor, with foreign keys", "K", False, "floor_fk"),
        ]
        if without_fks:
            steps.append(lambda: imports("import, foreign keys off", True, fks=False))
        shift = max(rep, 0) % len(steps)
        for step in steps[shift:] + steps[:shift]:
            for label, seconds in step().items():
                if rep >= 0:
                    out.setdefault(label, Samples()).values.append(seconds)
        print(f"  repetition {rep + 1}/{repeat} done", flush=True)
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write raw results as JSON")
    parser.add_argument("--without-foreign-keys", action="store_true",
                        help="also time the import with its row-checked foreign keys dropped "
                             "(projects, import_problems, import_problem_events, "
                             "staging_imports → tenants / problems)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cluster = Cluster(home)
        try:
            with serving(cluster.url, home) as server:
                results = interleaved(cluster, server, args.repeat,
                                      args.without_foreign_keys)
        finally:
            cluster.close()
    medians = {label: s.median * 1000 for label, s in results.items()}
    for label, samples in sorted(results.items()):
        print(f"{label:45s} median {samples.median * 1000:7.1f} ms  "
              f"(min {samples.low * 1000:.1f}, max {samples.high * 1000:.1f})")
    for kind in ("first", "re-import"):
        ratio = medians[f"import: {kind}"] / medians[f"contract floor: {kind}"]
        ratio_all = medians[f"import: {kind}"] / medians[f"contract floor, all misses: {kind}"]
        ratio_fk = (medians[f"import: {kind}"]
                    / medians[f"contract floor, with foreign keys: {kind}"])
        triggers = medians[f"import: {kind}"] - medians[f"import, rollup triggers off: {kind}"]
        print(f"{kind}: import / contract floor = {ratio:.2f}x "
              f"(all misses: {ratio_all:.2f}x, with foreign keys: {ratio_fk:.2f}x); "
              f"rollup triggers {triggers:+.1f} ms")
        if f"import, foreign keys off: {kind}" in medians:
            fks = medians[f"import: {kind}"] - medians[f"import, foreign keys off: {kind}"]
            print(f"{kind}: row-checked foreign keys {fks:+.1f} ms")
    if args.json:
        args.json.write_text(json.dumps({k: v.values for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
