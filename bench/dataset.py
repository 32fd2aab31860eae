"""A tenant with history, generated inside PostgreSQL in set-based statements.

90 days of daily batches: `projects` projects (their memberships too), one staged batch a day,
and `occurrences` anomaly occurrences spread over those days: the same projects miss the same
directory entries every day (as a real feed does until someone fixes a directory), so each of
their open problems has about 90 occurrences. On top, `old` occurrences and 30 staged batches past
retention (older than 90 and 60 days), for the retention measurement.
Foreign-key triggers are skipped while loading (session_replication_role = replica, superuser
only): the rows are consistent by construction. The rollup triggers (migration 0039) are
skipped with them, so the tenant's rollups are recounted from the loaded rows at the end, with
the statements the migration seeds them with.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

KEY_BASE = 10_000_000  # history keys: STG-0000100000000 and up, apart from the bench's own


def seed_history(url: str, tenant_id: str, *, projects: int, occurrences: int, old: int,
                 days: int = 90, budget_seconds: float = 900) -> dict[str, Any]:
    """Load the history; stops adding anomaly days when the time budget is spent and says
    how far it got."""
    started = time.monotonic()
    per_day = max(3, occurrences // days)
    missing = min(projects, per_day // 3)  # projects missing partner, DS and RM
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set session_replication_role = replica")
        conn.execute("set synchronous_commit = off")
        _projects(conn, tenant_id, projects, missing)
        _memberships(conn, tenant_id)
        _problems(conn, tenant_id, missing, days)
        # planned with statistics: unanalyzed, the daily insert's problem lookup can become a
        # nested loop over a sequential scan (quadratic in the missing projects)
        conn.execute("analyze projects, import_problems, staging_imports")
        loaded_days = 0
        for day in range(days):
            if time.monotonic() - started > budget_seconds:
                break
            _day(conn, tenant_id, day_ago=days - day, rows=missing)
            loaded_days += 1
        old_days = 30
        old_per_day = old // old_days
        for day in range(old_days):
            if time.monotonic() - started > budget_seconds * 1.3:
                break
            _day(conn, tenant_id, day_ago=days + 1 + day, rows=old_per_day // 3,
                 staged_days_ago=None)
        for day in range(old_days):  # staged batches past the 60-day retention
            _staging(conn, tenant_id, day_ago=61 + day, rows=1, key="retired")
        _rollups(conn, tenant_id)
        conn.execute("analyze")
        counted = conn.execute(
            "select (select count(*) from projects where tenant_id = %(t)s) as projects, "
            "(select count(*) from import_anomalies where tenant_id = %(t)s) as occurrences, "
            "(select count(*) from import_anomalies where tenant_id = %(t)s "
            "  and created_at < now() - interval '90 days') as old_occurrences, "
            "(select count(*) from project_org_memberships where tenant_id = %(t)s) "
            "  + (select count(*) from project_user_memberships where tenant_id = %(t)s) "
            "  as memberships", {"t": tenant_id}).fetchone()
    assert counted is not None
    return {"projects": counted[0], "occurrences": counted[1], "old_occurrences": counted[2],
            "memberships": counted[3], "days": loaded_days, "missing": missing,
            "seconds": round(time.monotonic() - started, 1)}


def _projects(conn: psycopg.Connection[Any], tenant_id: str, projects: int,
              missing: int) -> None:
    """`projects` rows; the first `missing` name an unknown partner, DS and RM."""
    step = 250_000
    for start in range(0, projects, step):
        conn.execute("""
            insert into projects (tenant_id, stage_application, delivery_partner,
                developer_class, relationship_manager, deployment_specialist, residential,
                commercial, essential, stage_application_created, partner_org, ds_username,
                rm_username, source, last_batch_id)
            select %(t)s, 'STG-' || lpad((%(base)s + g)::text, 12, '0'),
                   case when g < %(missing)s then 'Unknown Civil' else 'Fulton Hogan' end,
                   'Class 2',
                   case when g < %(missing)s then 'Nobody Known' else 'First Last' end,
                   case when g < %(missing)s then 'ghost' else 'PREFERRED_USERNAME' end,
                   g %% 50, 5, 0, date '2025-04-01',
                   case when g < %(missing)s then null else 'Fulton Hogan Pty Ltd' end,
                   case when g < %(missing)s then null else 'PREFERRED_USERNAME' end,
                   case when g < %(missing)s then null else 'flast' end,
                   'history', md5(%(t)s || 'history')::uuid
              from generate_series(%(start)s::integer, %(stop)s::integer) g""",
                     {"t": tenant_id, "base": KEY_BASE, "missing": missing, "start": start,
                      "stop": min(projects, start + step) - 1})
    conn.execute("insert into organizations (tenant_id, name) values (%s, "
                 "'Fulton Hogan Pty Ltd') on conflict do nothing", (tenant_id,))


def _problems(conn: psycopg.Connection[Any], tenant_id: str, missing: int, days: int) -> None:
    """One open problem per missing project and type, seen every day of the history."""
    conn.execute("""
        insert into import_problems (tenant_id, project_key, anomaly_type, severity,
            unknown_value, unknown_key, status, first_seen_at, last_seen_at, occurrences,
            last_batch_id, payload_excerpt)
        select %(t)s, 'STG-' || lpad((%(base)s + g)::text, 12, '0'), a.anomaly_type,
               a.severity, a.unknown_value, public.fn_directory_key(a.unknown_value), 'open',
               now() - make_interval(days => %(days)s), now() - interval '1 day', %(days)s,
               md5(%(t)s || ':day:1')::uuid, '{"generated": true}'
          from generate_series(0, %(missing)s::integer - 1) g
         cross join (values ('UNKNOWN_DELIVERY_PARTNER', 'warning', 'Unknown Civil'),
                            ('UNKNOWN_DS', 'error', 'ghost'),
                            ('UNKNOWN_RM', 'error', 'Nobody Known'))
               a(anomaly_type, severity, unknown_value)""",
                 {"t": tenant_id, "base": KEY_BASE, "missing": missing, "days": days})


def _memberships(conn: psycopg.Connection[Any], tenant_id: str) -> None:
    conn.execute("""
        insert into project_org_memberships (tenant_id, stage_application, org_name, role,
                                             batch_id, since)
        select tenant_id, stage_application, partner_org, 'delivery_partner', last_batch_id,
               now() - interval '90 days'
          from projects where tenant_id = %s and partner_org is not null""", (tenant_id,))
    conn.execute("""
        insert into project_user_memberships (tenant_id, stage_application, username, role,
                                              batch_id, since)
        select p.tenant_id, p.stage_application, u.username, u.role, p.last_batch_id,
               now() - interval '90 days'
          from projects p
          cross join lateral (values ('deployment_specialist', p.ds_username),
                                     ('relationship_manager', p.rm_username)) u(role, username)
         where p.tenant_id = %s and u.username is not null""", (tenant_id,))


def _staging(conn: psycopg.Connection[Any], tenant_id: str, *, day_ago: int, rows: int,
             key: str = "day") -> str:
    batch_id = conn.execute("select md5(%s)::uuid", (f"{tenant_id}:{key}:{day_ago}",)).fetchone()
    assert batch_id is not None
    conn.execute("""
        insert into staging_imports (tenant_id, batch_id, source, raw, batch_checksum,
                                     row_count, correlation_id, validation, created_at)
        values (%(t)s, %(b)s, 'history', '{"generated": true}', md5(%(b)s::text || 'sum'),
                greatest(%(rows)s, 1), gen_random_uuid(), '{}',
                now() - make_interval(days => %(ago)s))
        on conflict do nothing""", {"t": tenant_id, "b": batch_id[0], "rows": rows,
                                     "ago": day_ago})
    return str(batch_id[0])


def _day(conn: psycopg.Connection[Any], tenant_id: str, *, day_ago: int, rows: int,
         staged_days_ago: int | None = 0) -> None:
    """One daily batch's anomaly occurrences: the first `rows` projects miss all three."""
    batch_id = _staging(conn, tenant_id, day_ago=day_ago, rows=rows) \
        if staged_days_ago is not None else None
    conn.execute("""
        insert into import_anomalies (tenant_id, batch_id, staging_id, row_index, project_key,
            anomaly_type, severity, payload_excerpt, correlation_id, created_at, problem_id)
        select %(t)s, coalesce(%(b)s::uuid, md5(%(t)s || ':old:' || %(ago)s)::uuid),
               (select id from staging_imports s
                 where s.tenant_id = %(t)s and s.batch_id = %(b)s::uuid),
               k.g, k.project_key, a.anomaly_type, a.severity,
               '{"stage_application": "' || k.project_key || '"}',
               md5(%(t)s || %(ago)s)::uuid,
               now() - make_interval(days => %(ago)s) + make_interval(secs => k.g %% 3600),
               pr.id
          from (select g, 'STG-' || lpad((%(base)s + g)::text, 12, '0') as project_key
                  from generate_series(0, %(rows)s::integer - 1) g) k
         cross join (values ('UNKNOWN_DELIVERY_PARTNER', 'warning'), ('UNKNOWN_DS', 'error'),
                            ('UNKNOWN_RM', 'error')) a(anomaly_type, severity)
          left join import_problems pr
            on pr.tenant_id = %(t)s and pr.project_key = k.project_key
           and pr.anomaly_type = a.anomaly_type""",
                 {"t": tenant_id, "b": batch_id, "ago": day_ago, "rows": rows,
                  "base": KEY_BASE})


def _rollups(conn: psycopg.Connection[Any], tenant_id: str) -> None:
    """Recount the tenant's rollups (import_problem_rollups, import_anomaly_rollups)."""
    conn.execute("delete from import_problem_rollups where tenant_id = %s", (tenant_id,))
    conn.execute("delete from import_anomaly_rollups where tenant_id = %s", (tenant_id,))
    conn.execute("""
        insert into import_problem_rollups
               (tenant_id, anomaly_type, severity, status, clock, hour, problems)
        select p.tenant_id, p.anomaly_type, p.severity, p.status, c.clock,
               date_bin('1 hour', c.at, timestamptz '2000-01-01Z'), count(*)
          from import_problems p
          cross join lateral (values
              ('first_seen', p.first_seen_at),
              ('ack_due', case when p.status = 'open' then p.ack_due_at end),
              ('resolve_due', p.resolve_due_at),
              ('overdue', least(case when p.status = 'open' then p.ack_due_at end,
                                p.resolve_due_at))) c(clock, at)
         where p.tenant_id = %s and p.status <> 'resolved' and c.at is not null
         group by 1, 2, 3, 4, 5, 6""", (tenant_id,))
    conn.execute("""
        insert into import_anomaly_rollups
               (tenant_id, anomaly_type, severity, created_at, occurrences, unresolved)
        select tenant_id, anomaly_type, severity, created_at, count(*),
               count(*) filter (where status <> 'resolved')
          from import_anomalies
         where tenant_id = %s
         group by 1, 2, 3, 4""", (tenant_id,))
