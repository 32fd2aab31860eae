"""Freshness and quarantine (SPEC §9 "Tenants"): GET /tenants/status, a paused tenant's 423,
the pause/resume record, and the admin-only RPC the console uses — on real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psycopg
import pytest

from projects_import.db.connection import Database
from projects_import.tenant_status import TenantStatus
from tests.support import as_user, batch, bearer, create_tenant, project_row, user_token

pytestmark = pytest.mark.engine  # the admin-only pause RPC

STATUS_FIELDS = {"tenant_id", "timezone", "last_success_at", "late", "paused",
                 "paused_reason", "paused_at", "audit", "held", "freshness"}


def user(role: str = "operator") -> dict[str, str]:
    return bearer(user_token(role))


def tenant_auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def pause(database_url: str, tenant_id: str, reason: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with Database(database_url, max_size=1) as db:
            return await TenantStatus(db).pause(tenant_id, reason, "test-operator")

    return asyncio.run(go())


def resume(database_url: str, tenant_id: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with Database(database_url, max_size=1) as db:
            return await TenantStatus(db).resume(tenant_id, "test-operator")

    return asyncio.run(go())


def status_of(http: httpx.Client, tenant_id: str) -> dict[str, Any]:
    response = http.get("/tenants/status", headers=user())
    assert response.status_code == 200, response.text
    found: dict[str, Any] = next(t for t in response.json()["tenants"]
                                 if t["tenant_id"] == tenant_id)
    return found


def test_a_paused_tenant_gets_423_and_nothing_is_staged(
        http: httpx.Client, database_url: str, db: psycopg.Connection[Any],
        tenant: tuple[str, str], directories: None) -> None:
    _, secret = tenant
    rows = [project_row("STG-000000000001")]
    first = http.post("/import-projects", json=batch(rows, batch_id="b-1"),
                      headers=tenant_auth(secret))
    assert first.status_code == 200

    reason = "upstream export is broken (ticket 4711)"
    paused = pause(database_url, "TELCO", reason)
    assert paused["changed"] and paused["paused_reason"] == reason
    staged_before = db.execute("select count(*) as n from staging_imports").fetchone()
    for payload in (batch([project_row("STG-000000000002")], batch_id="b-2"),
                    batch(rows, batch_id="b-1")):  # a new batch, and a replay of an old one
        answer = http.post("/import-projects", json=payload, headers=tenant_auth(secret))
        assert answer.status_code == 423, answer.text
        error = answer.json()["error"]
        assert error["code"] == "tenant_paused"
        assert "upstream export is broken (ticket 4711)" in error["message"]
        assert paused["paused_at"][:19].replace("T", " ") + " UTC" in error["message"]
        assert error["correlation_id"]
    assert db.execute("select count(*) as n from staging_imports").fetchone() == staged_before
    assert db.execute("select count(*) as n from projects where stage_application = "
                      "'STG-000000000002'").fetchone() == {"n": 0}
    recorded = db.execute("select status, error_code, request_batch_id from import_requests "
                          "order by id").fetchall()
    assert [(r["status"], r["error_code"]) for r in recorded[1:]] == [
        (423, "tenant_paused"), (423, "tenant_paused")]

    state = status_of(http, "TELCO")
    assert state["paused"] and state["paused_reason"].startswith("upstream export")
    assert state["paused_at"] is not None

    assert pause(database_url, "TELCO", "again")["changed"] is False
    assert resume(database_url, "TELCO")["changed"] is True
    assert resume(database_url, "TELCO")["changed"] is False
    again = http.post("/import-projects", json=batch([project_row("STG-000000000002")],
                                                     batch_id="b-2"),
                      headers=tenant_auth(secret))
    assert again.status_code == 200, again.text
    assert not status_of(http, "TELCO")["paused"]

    events = db.execute("select action, reason, actor from tenant_events order by id").fetchall()
    assert [(e["action"], e["reason"], e["actor"]) for e in events] == [
        ("pause", "upstream export is broken (ticket 4711)", "test-operator"),
        ("resume", None, "test-operator")]


def test_pause_needs_a_known_tenant_and_a_reason(database_url: str, tenant: Any) -> None:
    from projects_import.tenants import TenantError

    with pytest.raises(TenantError, match="no tenant NOPE"):
        pause(database_url, "NOPE", "why")
    with pytest.raises(TenantError, match="reason"):
        pause(database_url, "TELCO", "   ")
    with pytest.raises(TenantError, match="no tenant NOPE"):
        resume(database_url, "NOPE")


def test_late_and_fresh_tenants(http: httpx.Client, database_url: str,
                                db: psycopg.Connection[Any], tenant: tuple[str, str],
                                directories: None) -> None:
    """The clock is moved by making tenants old and imports old, never by sleeping: every
    tenant's batch was due three hours ago, every day of the week."""
    create_tenant(database_url, "SILENT", "Australia/Adelaide")
    create_tenant(database_url, "STALE", "America/New_York")
    create_tenant(database_url, "NEWCOMER", "UTC")
    db.execute("""
        update tenants
           set schedule_time = ((now() - interval '3 hours') at time zone timezone)::time,
               business_days = '{1,2,3,4,5,6,7}',
               created_at = case when tenant_id = 'NEWCOMER' then now()
                                 else now() - interval '8 days' end
    """)
    ok = http.post("/import-projects", json=batch([project_row("STG-1")]),
                   headers=tenant_auth(tenant[1]))
    assert ok.status_code == 200
    db.execute("""
        insert into import_requests (tenant_id, correlation_id, status, rows, created_at)
        values ('STALE', gen_random_uuid(), 200, 10, now() - interval '2 days'),
               ('SILENT', gen_random_uuid(), 422, 10, now() - interval '1 hour')
    """)

    response = http.get("/tenants/status", headers=user("admin"))
    assert response.status_code == 200, response.text
    tenants = {t["tenant_id"]: t for t in response.json()["tenants"]}
    assert all(set(t) == STATUS_FIELDS for t in tenants.values())
    assert sorted(tenants) == ["NEWCOMER", "SILENT", "STALE", "TELCO"]
    assert tenants["TELCO"]["late"] is False and tenants["TELCO"]["last_success_at"]
    assert tenants["TELCO"]["timezone"] == "Australia/Adelaide"
    assert tenants["SILENT"]["late"] is True  # only a rejected request since it was due
    assert tenants["SILENT"]["last_success_at"] is None
    assert tenants["STALE"]["late"] is True and tenants["STALE"]["last_success_at"]
    assert tenants["NEWCOMER"]["late"] is False  # did not exist when the batch was due
    assert not any(t["paused"] for t in tenants.values())


def test_only_operators_and_admins_read_the_status(http: httpx.Client,
                                                   tenant: tuple[str, str]) -> None:
    assert http.get("/tenants/status").status_code == 401
    viewer = http.get("/tenants/status", headers=user("viewer"))
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"
    extra = http.get("/tenants/status?tenant=TELCO", headers=user())
    assert extra.status_code == 400 and "tenant" in extra.json()["error"]["message"]
    assert extra.json()["error"]["code"] == "invalid_parameters"
    # who may not read is told so first, whatever the query string
    assert http.get("/tenants/status?tenant=TELCO").status_code == 401
    assert http.get("/tenants/status?tenant=TELCO", headers=user("viewer")).status_code == 403


@pytest.mark.parametrize("role", ["viewer", "", "operator"])
def test_the_database_refuses_pause_to_all_but_admins(db: psycopg.Connection[Any],
                                                      tenant: tuple[str, str],
                                                      role: str) -> None:
    refused = ["select fn_tenant_set_paused('TELCO', true, 'no')",
               "select fn_tenant_pause('TELCO', 'x', 'me')",
               "update tenants set paused_at = now(), paused_reason = 'x'",
               "insert into tenant_events (tenant_id, action, actor) values ('TELCO', 'pause', "
               "'me')"]
    if role != "operator":
        refused += ["select * from fn_tenants_status_for_operator()",
                    "select * from fn_tenant_secrets_for_operator()"]
    for statement in refused:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(db, role):
            db.execute(statement)
    assert db.execute("select count(*) as n from tenant_events").fetchone() == {"n": 0}


def test_an_admin_pauses_and_resumes_through_the_rpc(db: psycopg.Connection[Any],
                                                     tenant: tuple[str, str]) -> None:
    admin = "admin@example.com"
    with pytest.raises(psycopg.errors.InvalidParameterValue), as_user(db, "admin", admin):
        db.execute("select fn_tenant_set_paused('TELCO', true, '  ')")
    with as_user(db, "admin", admin):
        row = db.execute("select fn_tenant_set_paused('TELCO', true, 'audit') as r").fetchone()
        assert row is not None and row["r"]["paused_by"] == admin
        secrets = db.execute("select * from fn_tenant_secrets_for_operator()").fetchall()
        assert (secrets[0]["tenant_id"], secrets[0]["valid_secrets"],
                secrets[0]["expiring_secrets"]) == ("TELCO", 1, 0)
    with as_user(db, "admin", admin):
        db.execute("select fn_tenant_set_paused('TELCO', false)")
    events = db.execute("select action, actor from tenant_events order by id").fetchall()
    assert [(e["action"], e["actor"]) for e in events] == [("pause", admin), ("resume", admin)]
