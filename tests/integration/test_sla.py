"""SLA clocks, freshness, pause (quarantine) and retention of the request log in PostgreSQL
(migration 0012)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import errors

from tests.support import batch, project_row, submit

pytestmark = pytest.mark.engine  # SLA clocks and quarantine in SQL

Conn = psycopg.Connection[Any]
OPERATOR = {"sub": "op-1", "role": "authenticated", "app_metadata": {"role": "operator"}}
ADELAIDE = ZoneInfo("Australia/Adelaide")
WEEKDAYS = [1, 2, 3, 4, 5]


@contextmanager
def as_user(db: Conn, claims: dict[str, Any]) -> Iterator[Conn]:
    with db.transaction():
        db.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        db.execute("set local role authenticated")
        yield db


def business_add(db: Conn, start: datetime, hours: float, days: list[int] = WEEKDAYS,
                 opening: str = "09:00", closing: str = "17:00") -> datetime:
    row = db.execute("select fn_business_time_add(%s, %s::numeric, 'Australia/Adelaide',"
                     " %s::time, %s::time, %s::integer[]) as at",
                     (start, hours, opening, closing, days)).fetchone()
    at: datetime = row["at"]
    return at.astimezone(ADELAIDE)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ADELAIDE)


# ------------------------------------------------------------------ business time

@pytest.mark.parametrize(("start", "hours", "expected"), [
    (local(2025, 8, 22, 16), 4, local(2025, 8, 25, 12)),     # Friday 16:00 → Monday 12:00
    (local(2025, 8, 22, 16), 8, local(2025, 8, 25, 16)),     # one business day
    (local(2025, 8, 22, 17), 4, local(2025, 8, 25, 13)),     # at closing time
    (local(2025, 8, 23, 10), 4, local(2025, 8, 25, 13)),     # Saturday: from Monday's opening
    (local(2025, 8, 25, 7), 0, local(2025, 8, 25, 9)),       # before opening
    (local(2025, 8, 25, 10), 2.5, local(2025, 8, 25, 12, 30)),
    (local(2025, 8, 22, 16), 40, local(2025, 8, 29, 16)),    # a business week
], ids=["friday-4h", "friday-1day", "closing", "saturday", "early", "fraction", "week"])
def test_business_hours_skip_nights_and_the_weekend(db, start, hours, expected) -> None:
    assert business_add(db, start, hours) == expected


def test_business_time_across_the_start_of_daylight_saving(db) -> None:
    """Adelaide moves from +09:30 to +10:30 on Sunday 5 October 2025; business hours stay
    09:00 to 17:00 on the wall clock."""
    every_day = [1, 2, 3, 4, 5, 6, 7]
    due = business_add(db, local(2025, 10, 4, 16), 4, days=every_day)
    assert due == local(2025, 10, 5, 12)
    assert due.utcoffset() is not None and due.utcoffset().total_seconds() == 10.5 * 3600
    assert business_add(db, local(2025, 10, 3, 16), 4) == local(2025, 10, 6, 12)


def test_bad_calendars_are_refused(db) -> None:
    with pytest.raises(errors.InvalidParameterValue):
        business_add(db, local(2025, 8, 22, 16), 4, opening="17:00", closing="09:00")
    with pytest.raises(errors.InvalidParameterValue):
        business_add(db, local(2025, 8, 22, 16), 4, days=[0, 8])
    with pytest.raises(errors.InvalidParameterValue):
        business_add(db, local(2025, 8, 22, 16), -1)


def test_the_tenant_calendar_sets_a_problems_clocks(db, database_url, tenant, directories
                                                    ) -> None:
    db.execute("update tenants set business_hours_start = '08:00', business_hours_end = '12:00',"
               " business_days = '{1,2,3,4}' where tenant_id = 'TELCO'")
    clocks = db.execute("select * from fn_problem_due_times('TELCO', %s)",
                        (local(2025, 8, 21, 11),)).fetchone()      # Thursday 11:00
    assert clocks["ack_due_at"].astimezone(ADELAIDE) == local(2025, 8, 25, 11)
    assert clocks["resolve_due_at"] == clocks["ack_due_at"]          # a 4-hour business day
    per_tenant = db.execute("select fn_business_time_add(%s, 1, 'TELCO') as at",
                            (local(2025, 8, 21, 11),)).fetchone()["at"]
    assert per_tenant.astimezone(ADELAIDE) == local(2025, 8, 21, 12)

    submit(database_url, batch([project_row("STG-1", deployment_specialist="ds.unknown")]))
    problem = db.execute("select first_seen_at, ack_due_at, resolve_due_at from import_problems"
                         ).fetchone()
    expected = db.execute("select * from fn_problem_due_times('TELCO', %s)",
                          (problem["first_seen_at"],)).fetchone()
    assert (problem["ack_due_at"], problem["resolve_due_at"]) == (
        expected["ack_due_at"], expected["resolve_due_at"])


# ------------------------------------------------------------------ freshness

def freshness(db: Conn) -> dict[str, Any]:
    row: dict[str, Any] = db.execute(
        "select * from vw_tenant_freshness where tenant_id = 'TELCO'").fetchone()
    return row


@pytest.fixture
def scheduled_three_hours_ago(db: Conn, tenant: tuple[str, str]) -> None:
    """TELCO expects a batch every day at the local time three hours ago; it has existed for
    three days and never imported."""
    db.execute("update tenants set created_at = now() - interval '3 days',"
               " business_days = '{1,2,3,4,5,6,7}',"
               " schedule_time = ((now() - interval '3 hours') at time zone timezone)::time"
               " where tenant_id = 'TELCO'")


def test_a_tenant_without_todays_batch_is_late(db, scheduled_three_hours_ago) -> None:
    row = freshness(db)
    assert row["late"] is True and row["last_success_at"] is None
    assert row["timezone"] == "Australia/Adelaide" and row["paused"] is False
    now = db.execute("select now() as now").fetchone()["now"]
    assert abs((now - row["expected_at"]).total_seconds() - 3 * 3600) < 1

    db.execute("update tenants set schedule_grace_minutes = 240 where tenant_id = 'TELCO'")
    assert freshness(db)["late"] is False                # still within the grace period


def test_a_success_since_the_expected_time_is_not_late(db, scheduled_three_hours_ago) -> None:
    db.execute("insert into import_requests (tenant_id, correlation_id, status, replayed,"
               " created_at) values ('TELCO', gen_random_uuid(), 200, true,"
               " now() - interval '1 day'), ('TELCO', gen_random_uuid(), 422, false, now())")
    assert freshness(db)["late"] is True                 # yesterday's, and a failure
    db.execute("insert into import_requests (tenant_id, correlation_id, status, replayed)"
               " values ('TELCO', gen_random_uuid(), 200, true)")
    row = freshness(db)
    assert row["late"] is False
    assert row["last_success_at"] == db.execute(
        "select max(created_at) as at from import_requests where status = 200").fetchone()["at"]


def test_a_batch_staged_without_the_route_counts_as_success(
        db, database_url, scheduled_three_hours_ago, directories) -> None:
    submit(database_url, batch([project_row("STG-1")]))
    row = freshness(db)
    assert row["late"] is False and row["last_success_at"] is not None


def test_a_tenant_created_after_the_expected_time_is_not_late(db, scheduled_three_hours_ago
                                                              ) -> None:
    db.execute("update tenants set created_at = now() - interval '1 hour'")
    assert freshness(db)["late"] is False


def test_operators_read_freshness_and_others_see_nothing(db, scheduled_three_hours_ago) -> None:
    with as_user(db, OPERATOR):
        rows = db.execute("select tenant_id, late from vw_tenant_freshness").fetchall()
    assert rows == [{"tenant_id": "TELCO", "late": True}]
    with as_user(db, {**OPERATOR, "app_metadata": {"role": "viewer"}}):
        assert db.execute("select * from vw_tenant_freshness").fetchall() == []


# ------------------------------------------------------------------ pause (quarantine)

def raw_submit(db: Conn, rows: list[dict[str, Any]], batch_key: str) -> dict[str, Any]:
    """fn_projects_import_submit as the import service calls it."""
    checksum = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    row = db.execute(
        "select fn_projects_import_submit('TELCO', 'projects-import', %s, %s, 1::smallint,"
        " %s, %s, gen_random_uuid(), '{}') as answer",
        (uuid.uuid5(uuid.NAMESPACE_URL, batch_key), checksum,
         json.dumps({"rows": rows}), json.dumps(rows))).fetchone()
    answer: dict[str, Any] = row["answer"]
    return answer


def test_a_paused_tenant_stages_nothing_until_resumed(db, tenant, directories) -> None:
    first = raw_submit(db, [project_row("STG-1")], "day-1")
    assert first["outcome"] == "merged"

    paused = db.execute("select fn_tenant_pause('TELCO', '  vendor export is corrupt ', 'ops-1')"
                        " as p").fetchone()["p"]
    assert paused["paused"] is True and paused["changed"] is True
    assert (paused["paused_reason"], paused["paused_by"]) == ("vendor export is corrupt", "ops-1")
    again = db.execute("select fn_tenant_pause('TELCO', 'another reason') as p").fetchone()["p"]
    assert again["changed"] is False and again["paused_reason"] == "vendor export is corrupt"

    refused = raw_submit(db, [project_row("STG-2")], "day-2")
    assert refused["outcome"] == "paused"
    assert refused["reason"] == "vendor export is corrupt"
    assert refused["paused_at"] is not None
    replay = raw_submit(db, [project_row("STG-1")], "day-1")
    assert replay["outcome"] == "paused"                 # a replay is refused too
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 1
    assert freshness(db)["paused"] is True

    resumed = db.execute("select fn_tenant_resume('TELCO', 'ops-2') as r").fetchone()["r"]
    assert resumed == {"tenant_id": "TELCO", "paused": False, "changed": True}
    assert raw_submit(db, [project_row("STG-2")], "day-2")["outcome"] == "merged"
    assert raw_submit(db, [project_row("STG-1")], "day-1")["outcome"] == "replayed"
    history = db.execute("select action, reason, actor from tenant_events order by at, id"
                         ).fetchall()
    assert [tuple(h.values()) for h in history] == [
        ("pause", "vendor export is corrupt", "ops-1"), ("resume", None, "ops-2")]
    tenant_row = db.execute("select paused_at, paused_reason, paused_by from tenants").fetchone()
    assert tenant_row == {"paused_at": None, "paused_reason": None, "paused_by": None}


def test_pause_refuses_what_is_wrong(db, tenant) -> None:
    with pytest.raises(errors.InvalidParameterValue):
        db.execute("select fn_tenant_pause('TELCO', '   ')")
    with pytest.raises(errors.NoDataFound):
        db.execute("select fn_tenant_pause('NOPE', 'a reason')")
    with pytest.raises(errors.NoDataFound):
        db.execute("select fn_tenant_resume('NOPE')")
    assert db.execute("select fn_tenant_resume('TELCO') as r").fetchone()["r"]["changed"] is False


@pytest.mark.parametrize("role", ["authenticated", "anon"])
def test_user_roles_cannot_pause_or_write(db, tenant, role) -> None:
    for query in ("select fn_tenant_pause('TELCO', 'x')", "select fn_tenant_resume('TELCO')",
                  "insert into tenant_events (tenant_id, action, actor)"
                  " values ('TELCO', 'pause', 'x')"):
        with pytest.raises(errors.InsufficientPrivilege), db.transaction():
            db.execute(f"set local role {role}")
            db.execute(query)


# ------------------------------------------------------------------ retention

def test_retention_trims_requests_deliveries_and_spent_problems(
        db, database_url, tenant, directories) -> None:
    submit(database_url, batch([project_row("STG-1", deployment_specialist="ds.gone.1"),
                                project_row("STG-2", deployment_specialist="ds.gone.2")]))
    db.execute("update import_problems set status = 'resolved', resolution = 'data_fix',"
               " resolved_at = now() where project_key = 'STG-1'")
    db.execute("update import_anomalies set created_at = now() - interval '100 days'")
    db.execute("update import_problems set first_seen_at = now() - interval '100 days',"
               " last_seen_at = now() - interval '100 days'")
    db.execute("insert into import_requests (tenant_id, correlation_id, status, created_at)"
               " select 'TELCO', gen_random_uuid(), 200,"
               "        now() - make_interval(days => d) + interval '1 hour'"
               " from generate_series(1, 70) d")
    db.execute("insert into alert_deliveries (tenant_id, kind, fingerprint, problem_ids,"
               " reasons, window_start, window_end, body, status, created_at)"
               " select 'TELCO', 'alert', 'f', '{}', '{errors}', now(), now(), '{}',"
               "        'delivered', now() - make_interval(days => d) + interval '1 hour'"
               " from generate_series(1, 65) d")

    counts = db.execute("select fn_cleanup_import_data(60, 90, 4) as c").fetchone()["c"]
    assert counts["import_requests_deleted"] == 10
    assert counts["alert_deliveries_deleted"] == 5
    assert counts["import_anomalies_deleted"] == 2
    assert counts["import_problems_deleted"] == 1         # the resolved one; the open one stays
    assert counts["complete"] is True
    left = db.execute("select project_key, status from import_problems").fetchall()
    assert left == [{"project_key": "STG-2", "status": "open"}]
    totals = db.execute("select sum(import_requests_count) as requests,"
                        " sum(alert_deliveries_count) as deliveries,"
                        " sum(import_problems_count) as problems,"
                        " sum(import_anomalies_count) as anomalies"
                        " from import_retention_stats").fetchone()
    assert totals == {"requests": 10, "deliveries": 5, "problems": 1, "anomalies": 2}


def test_retention_with_nothing_old_counts_zero(db, tenant) -> None:
    counts = db.execute("select fn_cleanup_import_data() as c").fetchone()["c"]
    assert counts["alert_deliveries_deleted"] == 0 and counts["import_requests_deleted"] == 0
