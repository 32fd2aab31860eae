"""Rollups kept by the writes (migration 0039): after any sequence of imports, directory fixes,
acknowledgements, resolutions, clock changes and retention, and after concurrent imports of
several tenants, the rollup tables equal a full count of the tables they summarize, and the
statistics read from them (fn_problem_stats, fn_anomalies_stats, the overview's view,
/metrics) equal the full counts they replaced."""

from __future__ import annotations

import random
import threading
from importlib import resources
from typing import Any

import psycopg
import pytest

from projects_import.db.connection import connection_options
from projects_import.db.queries import query
from tests.support import as_user, batch, create_tenant, project_row, submit

pytestmark = pytest.mark.engine  # rollups kept by statement triggers in SQL

Conn = psycopg.Connection[Any]
TENANTS = ["TELCO", "WATER", "POWER"]

# The rollups, recounted from the tables.
EXPECTED_PROBLEM_ROLLUPS = """
select p.tenant_id, p.anomaly_type, p.severity, p.status, c.clock,
       date_bin(interval '1 hour', c.at, timestamptz '2000-01-01Z') as hour,
       count(*) as problems
  from import_problems p
  cross join lateral (values
      ('first_seen', p.first_seen_at),
      ('ack_due', case when p.status = 'open' then p.ack_due_at end),
      ('resolve_due', p.resolve_due_at),
      ('overdue', least(case when p.status = 'open' then p.ack_due_at end,
                        p.resolve_due_at))) c(clock, at)
 where p.status <> 'resolved' and c.at is not null
 group by 1, 2, 3, 4, 5, 6
"""
EXPECTED_ANOMALY_ROLLUPS = """
select tenant_id, anomaly_type, severity, created_at, count(*) as occurrences,
       count(*) filter (where status <> 'resolved') as unresolved
  from import_anomalies
 group by 1, 2, 3, 4
"""

# The statistics as full counts (the bodies before 0039).
FULL_ANOMALIES_STATS = """
select a.tenant_id, a.anomaly_type, a.severity, count(*)::bigint as count,
       (count(*) filter (where a.status <> 'resolved'))::bigint as unresolved,
       max(a.created_at) as last_seen_at
  from import_anomalies a
 where a.created_at >= now() - make_interval(hours => %(h)s)
 group by 1, 2, 3 order by 1, 2, 3
"""
FULL_PROBLEM_STATS = """
with p as (
    select pr.tenant_id, pr.anomaly_type, pr.severity,
           count(*) filter (where pr.status = 'open') as open_problems,
           count(*) filter (where pr.status = 'acknowledged') as acknowledged_problems,
           count(*) filter (where pr.first_seen_at >= now() - make_interval(hours => %(h)s))
               as new_problems,
           count(*) filter (where pr.status = 'open' and pr.ack_due_at < now()) as overdue_ack,
           count(*) filter (where pr.resolve_due_at < now()) as overdue_resolve
      from import_problems pr where pr.status <> 'resolved'
     group by 1, 2, 3
), o as (
    select a.tenant_id, a.anomaly_type, a.severity, count(*) as occurrences
      from import_anomalies a
     where a.created_at >= now() - make_interval(hours => %(h)s)
     group by 1, 2, 3
)
select coalesce(p.tenant_id, o.tenant_id) as tenant_id,
       coalesce(p.anomaly_type, o.anomaly_type) as anomaly_type,
       coalesce(p.severity, o.severity) as severity,
       coalesce(p.open_problems, 0)::bigint as open_problems,
       coalesce(p.acknowledged_problems, 0)::bigint as acknowledged_problems,
       coalesce(p.new_problems, 0)::bigint as new_problems,
       coalesce(o.occurrences, 0)::bigint as occurrences,
       coalesce(p.overdue_ack, 0)::bigint as overdue_ack,
       coalesce(p.overdue_resolve, 0)::bigint as overdue_resolve
  from p full join o on o.tenant_id = p.tenant_id and o.anomaly_type = p.anomaly_type
                    and o.severity = p.severity
 order by 1, 2, 3
"""
FULL_METRICS = """
select tenant_id, anomaly_type, severity,
       (count(*) filter (where status = 'open'))::integer as open,
       (count(*) filter (where status = 'acknowledged'))::integer as acknowledged,
       (count(*) filter (where (status = 'open' and ack_due_at <= now())
                            or resolve_due_at <= now()))::integer as overdue
  from import_problems where status <> 'resolved'
 group by 1, 2, 3 order by 1, 2, 3
"""


FULL_GLANCE = """
select f.tenant_id,
       (count(*) filter (where pr.status = 'open'))::integer as open,
       (count(*) filter (where pr.status = 'acknowledged'))::integer as acknowledged,
       (count(*) filter (where (pr.status = 'open' and pr.ack_due_at < now())
                            or (pr.status <> 'resolved' and pr.resolve_due_at < now())
                         ))::integer as overdue,
       (count(*) filter (
           where pr.status <> 'resolved'
             and pr.first_seen_at >= (date_trunc('day', now() at time zone f.timezone)
                                      at time zone f.timezone)))::integer as new_today
  from vw_tenant_freshness f left join import_problems pr on pr.tenant_id = f.tenant_id
 group by f.tenant_id
"""


def rows(db: Conn, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    return sorted(tuple(r.values()) for r in db.execute(query, params).fetchall())


def assert_exact(db: Conn, step: str) -> None:
    """The rollups equal a recount, and every statistic read from them equals its full count
    (each pair read in one transaction, so both see the same now())."""
    with db.transaction():
        assert rows(db, "select * from import_problem_rollups") == \
            rows(db, EXPECTED_PROBLEM_ROLLUPS), step
        assert rows(db, "select * from import_anomaly_rollups") == \
            rows(db, EXPECTED_ANOMALY_ROLLUPS), step
        assert rows(db, "select * from fn_problem_metrics()") == rows(db, FULL_METRICS), step
        glance = [(r["tenant_id"], r["open"], r["acknowledged"], r["overdue"], r["new_today"])
                  for r in db.execute(query("dashboard_tenant_glance")).fetchall()]
        assert sorted(glance) == rows(db, FULL_GLANCE), step
    for hours in (1, 24, 24 * 14):
        with as_user(db, "operator"):
            assert rows(db, "select * from fn_anomalies_stats(%(h)s)", {"h": hours}) == \
                rows(db, FULL_ANOMALIES_STATS, {"h": hours}), (step, hours)
            assert rows(db, "select * from fn_problem_stats(%(h)s)", {"h": hours}) == \
                rows(db, FULL_PROBLEM_STATS, {"h": hours}), (step, hours)
    with as_user(db, "operator"):
        assert rows(db, "select * from vw_import_anomalies_stats_24h") == \
            rows(db, FULL_ANOMALIES_STATS, {"h": 24}), step


def add_directories(db: Conn, tenant_id: str) -> None:
    db.execute("insert into partner_normalization (tenant_id, alias, canonical) "
               "values (%s, 'Fulton Hogan', 'Fulton Hogan Pty Ltd')", (tenant_id,))
    db.execute("insert into ds_directory (tenant_id, preferred_username, display_name, active) "
               "values (%s, 'PREFERRED_USERNAME', 'Pat Doe', true)", (tenant_id,))
    db.execute("insert into rm_directory (tenant_id, preferred_username, display_name, active) "
               "values (%s, 'flast', 'First Last', true)", (tenant_id,))


def random_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Rows over 40 project keys; some name a DS, RM or partner the directories lack."""
    keys = rng.sample(range(40), count)
    out = []
    for k in keys:
        overrides: dict[str, Any] = {}
        if rng.random() < 0.5:
            overrides["deployment_specialist"] = f"ds.{rng.randrange(6)}"
        if rng.random() < 0.3:
            overrides["relationship_manager"] = f"Manager {rng.randrange(4)}"
        if rng.random() < 0.2:
            overrides["delivery_partner"] = f"Partner {rng.randrange(3)}"
        out.append(project_row(f"STG-{k:03d}", **overrides))
    return out


def unresolved_problem(db: Conn, rng: random.Random) -> int | None:
    ids = [r["id"] for r in db.execute(
        "select id from import_problems where status <> 'resolved' order by id").fetchall()]
    return rng.choice(ids) if ids else None


def step_import(db: Conn, url: str, rng: random.Random, n: int) -> str:
    tenant = rng.choice(TENANTS)
    submit(url, batch(random_rows(rng, rng.randint(1, 12)), tenant_id=tenant,
                      batch_id=f"batch-{n}"))
    return f"import {tenant}"


def step_fix(db: Conn, url: str, rng: random.Random, n: int) -> str:
    """A directory fix: an admin adds the DS and applies the change (the backfill)."""
    tenant = rng.choice(TENANTS)
    name = f"ds.{rng.randrange(6)}"
    with as_user(db, "admin"):
        change = db.execute("select fn_directory_person_set(%s, 'ds', %s, %s, true) as r",
                            (tenant, name, name)).fetchone()["r"]
        if change["change_id"] is not None:
            db.execute("select fn_directory_change_apply(%s, %s)",
                       (tenant, change["change_id"]))
    return f"fix {tenant} {name}"


def step_backfill(db: Conn, url: str, rng: random.Random, n: int) -> str:
    db.execute("insert into rm_directory (tenant_id, preferred_username, display_name, active) "
               "values (%s, %s, %s, true) on conflict do nothing",
               (rng.choice(TENANTS), f"rm.{n}", f"Manager {rng.randrange(4)}"))
    db.execute("select fn_projects_membership_backfill()")
    return "backfill"


def step_lifecycle(db: Conn, url: str, rng: random.Random, n: int) -> str:
    problem = unresolved_problem(db, rng)
    if problem is None:
        return "lifecycle (none open)"
    status = rng.choice(["acknowledged", "resolved"])
    with as_user(db, "operator"):
        db.execute("select * from fn_problem_set_status(%s, %s, null)", (problem, status))
    return f"{status} {problem}"


def step_clocks(db: Conn, url: str, rng: random.Random, n: int) -> str:
    """Move some problems' clocks and first sighting into the past, some across the hour."""
    db.execute("update import_problems "
               "set first_seen_at = first_seen_at - make_interval(mins => %(m)s), "
               "    ack_due_at = now() - make_interval(mins => %(a)s), "
               "    resolve_due_at = resolve_due_at - make_interval(hours => %(r)s) "
               "where id %% 3 = %(k)s",
               {"m": rng.randrange(1, 60 * 30), "a": rng.randrange(0, 120),
                "r": rng.randrange(0, 200), "k": rng.randrange(3)})
    return "clocks"


def step_age(db: Conn, url: str, rng: random.Random, n: int) -> str:
    """Age some occurrences (a few minutes to 20 days) so the window edges and retention
    have something to cut."""
    db.execute("update import_anomalies "
               "set created_at = created_at - make_interval(mins => %(m)s) "
               "where id %% 4 = %(k)s",
               {"m": rng.choice([7, 55, 61, 60 * 23 + 30, 60 * 24 * 20]), "k": rng.randrange(4)})
    return "age"


def step_retention(db: Conn, url: str, rng: random.Random, n: int) -> str:
    days = rng.choice([1, 14])
    db.execute("select fn_cleanup_import_data(30, %s, 7, 100)", (days,))
    return f"retention {days}"


STEPS = [(step_import, 5), (step_fix, 1), (step_backfill, 1), (step_lifecycle, 3),
         (step_clocks, 1), (step_age, 1), (step_retention, 1)]


@pytest.mark.parametrize("seed", [20, 2039])
def test_rollups_equal_full_counts_after_random_sequences(db, database_url, seed) -> None:
    # a half-hour zone: the overview's "new today" starts mid-hour (an edge to count)
    for tenant_id, zone in zip(TENANTS, ["UTC", "Australia/Adelaide", "Asia/Kolkata"],
                               strict=True):
        create_tenant(database_url, tenant_id, zone)
        add_directories(db, tenant_id)
    assert_exact(db, "empty")
    rng = random.Random(seed)
    funcs, weights = zip(*STEPS, strict=True)
    done = []
    for n in range(30):
        step = rng.choices(funcs, weights)[0]
        done.append(step(db, database_url, rng, n))
        assert_exact(db, " / ".join(done))
    # the sequence reached every kind of write
    assert db.execute("select count(*) as n from import_problems "
                      "where status = 'resolved'").fetchone()["n"] > 0
    assert db.execute("select count(*) as n from import_problems "
                      "where status = 'acknowledged'").fetchone()["n"] > 0
    assert db.execute("select count(*) as n from import_problem_rollups").fetchone()["n"] > 0


def test_rollups_are_counted_from_existing_rows_when_the_triggers_are_first_made(
        db, database_url) -> None:
    """Rows written before the triggers existed (as before 0039) are counted when the
    definitions first create the triggers: drop them, write, apply the definitions again."""
    create_tenant(database_url, "TELCO")
    add_directories(db, "TELCO")
    submit(database_url, batch([project_row("STG-1", deployment_specialist="ds.x")],
                               batch_id="before"))
    for table, prefix in (("import_problems", "import_problems"),
                          ("import_anomalies", "import_anomalies")):
        for event in ("insert", "update", "delete"):
            db.execute(f"drop trigger {prefix}_rollups_{event} on {table}")
    submit(database_url, batch([project_row("STG-2", relationship_manager="Nobody"),
                                project_row("STG-3", delivery_partner="Nowhere")],
                               batch_id="without triggers"))
    with pytest.raises(AssertionError):
        assert_exact(db, "triggers dropped")
    for name in ("fn_import_problem_rollups_trigger", "fn_import_anomaly_rollups_trigger"):
        db.execute((resources.files("projects_import") / "sql" / "definitions" / "functions"
                    / f"{name}.sql").read_text())
    assert_exact(db, "counted when the triggers were made")
    submit(database_url, batch([project_row("STG-4", deployment_specialist="ds.y")],
                               batch_id="after"))
    assert_exact(db, "kept by the triggers again")


def test_concurrent_imports_of_several_tenants_keep_rollups_exact(db, database_url) -> None:
    tenants = ["T1", "T2", "T3", "T4"]
    for tenant_id in tenants:
        create_tenant(database_url, tenant_id)
        add_directories(db, tenant_id)
    errors: list[BaseException] = []

    def imports(tenant_id: str, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(4):
                submit(database_url, batch(random_rows(rng, 25), tenant_id=tenant_id,
                                           batch_id=f"{tenant_id}-{n}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    def lifecycle() -> None:
        rng = random.Random(7)
        try:
            # a dozen runs of the same statements: no prepared statements behind a pooler
            with psycopg.connect(database_url, autocommit=True,
                                 row_factory=psycopg.rows.dict_row,
                                 **connection_options(database_url)[1]) as conn:
                for _ in range(12):
                    problem = unresolved_problem(conn, rng)
                    if problem is not None:
                        with as_user(conn, "operator"):
                            conn.execute("select * from fn_problem_set_status(%s, %s, null)",
                                         (problem, rng.choice(["acknowledged", "resolved"])))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=imports, args=(t, i)) for i, t in enumerate(tenants)]
    threads.append(threading.Thread(target=lifecycle))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert {r["tenant_id"] for r in db.execute(
        "select distinct tenant_id from import_problem_rollups").fetchall()} == set(tenants)
    assert_exact(db, "concurrent")
