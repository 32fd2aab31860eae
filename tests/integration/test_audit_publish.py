"""Write, audit, publish (SPEC §10) on real PostgreSQL: a broken export is held (202) and
changes nothing, the `held` alert reaches the webhook, publishing applies exactly the previewed
diff, a rejected batch's re-send is 422, a normal daily batch is published at once, a held
batch overtaken by a later one is superseded where they overlap, and a dry run writes
nothing anywhere but import_requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from projects_import.settings import Settings
from tests.support import (
    LiveServer,
    WebhookReceiver,
    batch,
    bearer,
    project_row,
    user_token,
)

pytestmark = pytest.mark.engine  # held batches, audits and publishing in SQL

PROJECTS = 1000
SECRET = "held-alert-signing-secret"
RMS = ("First Last", "Second Manager")


def rows(count: int = PROJECTS, **overrides: Any) -> list[dict[str, Any]]:
    """The tenant's daily export: every project, RMs alternating."""
    return [project_row(f"SA-{i:05d}", **{"relationship_manager": RMS[i % 2], **overrides})
            for i in range(count)]


def shifted(count: int = PROJECTS) -> list[dict[str, Any]]:
    """A shifted-column export: every relationship_manager blank."""
    return rows(count, relationship_manager="")


def admin() -> dict[str, str]:
    return bearer(user_token("admin"))


def snapshot(db: psycopg.Connection[Any]) -> dict[str, Any]:
    """Everything an import may change in the domain tables of the tenant."""
    projects = db.execute(
        "select stage_application, delivery_partner, relationship_manager, rm_username, "
        "deployment_specialist, ds_username, partner_org, residential, commercial, essential, "
        "premises_count, stage_application_created, updated_at from projects "
        "where tenant_id = 'TELCO' order by 1").fetchall()
    members = db.execute(
        "select project_key, role, member from vw_project_members where tenant_id = 'TELCO' "
        "order by 1, 2, 3").fetchall()
    ended = db.execute(
        "select (select count(*) from project_org_memberships where ended_at is not null) "
        "+ (select count(*) from project_user_memberships where ended_at is not null) as n"
        ).fetchone()
    anomalies = db.execute("select count(*) as n from import_anomalies").fetchone()
    return {"projects": projects, "members": members, "ended": ended, "anomalies": anomalies}


def state(db: psycopg.Connection[Any]) -> dict[str, set[str]]:
    """Per project: its fields as text and its active memberships."""
    found: dict[str, set[str]] = {}
    for row in db.execute(
            "select stage_application as k, delivery_partner, relationship_manager, "
            "rm_username, deployment_specialist, ds_username, partner_org, developer_class "
            "from projects where tenant_id = 'TELCO'").fetchall():
        found[row["k"]] = {f"{name}={value}" for name, value in row.items() if name != "k"}
    for row in db.execute("select project_key, role, member from vw_project_members "
                          "where tenant_id = 'TELCO'").fetchall():
        found[row["project_key"]].add(f"member:{row['role']}:{row['member']}")
    return found


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver("/hooks/alerts") as receiver:
        yield receiver


@pytest.fixture
def server(settings: Settings, hook: WebhookReceiver, make_server: Any,
           monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.setenv("ANOMALIES_ALERT_WEBHOOK", hook.url)
    monkeypatch.setenv("ANOMALIES_ALERT_SECRET", SECRET)
    server: LiveServer = make_server(Settings())
    return server


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@pytest.fixture
def loaded(client: httpx.Client, tenant: tuple[str, str], directories: None) -> str:
    """TELCO with 1,000 projects (the first import: no existing projects, so no audit)."""
    answer = client.post("/import-projects", json=batch(rows(), batch_id="day-1"),
                         headers=bearer(tenant[1]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["metrics"]["inserted_projects"] == PROJECTS
    return tenant[1]


def import_id(client: httpx.Client, state_name: str) -> int:
    listed = client.get("/imports", params={"batch_state": state_name},
                        headers=admin()).json()["imports"]
    assert len(listed) >= 1, listed
    return int(listed[0]["id"])


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_shifted_export_is_held_changes_nothing_and_alerts(
        client: httpx.Client, loaded: str, db: psycopg.Connection[Any],
        hook: WebhookReceiver) -> None:
    before = snapshot(db)
    answer = client.post("/import-projects", json=batch(shifted(), batch_id="day-2"),
                         headers=bearer(loaded))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["held"] is True and body["replayed"] is False
    checks = {f["check"]: f for f in body["audit"]["findings"]}
    assert set(checks) == {"max_ended_share", "max_changed_share"}
    # 1,000 RM memberships of 3,000 (partner, DS, RM per project) would end
    assert checks["max_ended_share"]["observed"] == pytest.approx(1 / 3, abs=1e-3)
    assert checks["max_ended_share"]["limit"] == pytest.approx(0.2)
    assert checks["max_changed_share"]["observed"] == 1
    assert body["metrics"]["updated_projects"] == PROJECTS  # what publishing would do
    assert body["metrics"]["memberships_ended"] == PROJECTS
    assert snapshot(db) == before

    wait_for(lambda: len(hook.received) == 1)
    alert = hook.received[0]
    assert alert.signed_with(SECRET)
    assert alert.headers["x-projects-import-event"] == "held"
    assert alert.body["kind"] == "held" and alert.body["tenant_id"] == "TELCO"
    assert alert.body["batch_id"] == body["batch_id"]
    assert {f["check"] for f in alert.body["findings"]} == set(checks)
    assert "First Last" not in alert.raw.decode()  # no names

    again = client.post("/import-projects", json=batch(shifted(), batch_id="day-2"),
                        headers=bearer(loaded))
    assert again.status_code == 202 and again.json()["replayed"] is True
    assert again.json()["audit"]["findings"] == body["audit"]["findings"]
    time.sleep(0.5)
    assert len(hook.received) == 1  # the re-send's alert is suppressed
    assert snapshot(db) == before

    status = client.get("/tenants/status", headers=admin()).json()["tenants"][0]
    assert status["held"] is True and status["freshness"] == "held" and status["late"] is False
    assert status["audit"]["held_batches"] == 1
    assert status["audit"]["max_ended_share"] == pytest.approx(0.2)

    listed = client.get("/imports", params={"tenant": "TELCO"}, headers=admin()).json()
    assert [r["batch_state"] for r in listed["imports"]] == ["held", "held", "merged"]


def test_publishing_applies_exactly_the_previewed_diff(
        client: httpx.Client, loaded: str, db: psycopg.Connection[Any]) -> None:
    changed = shifted()
    changed[0]["delivery_partner"] = "Downer"
    changed.append(project_row("SA-NEW-1"))
    assert client.post("/import-projects", json=batch(changed, batch_id="day-2"),
                       headers=bearer(loaded)).status_code == 202
    held = import_id(client, "held")
    assert client.get(f"/imports/{held}/diff", headers=bearer(user_token("operator"))
                      ).status_code == 403

    before = state(db)
    projects: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = client.get(f"/imports/{held}/diff", params={"page": page}, headers=admin())
        assert answer.status_code == 200, answer.text
        diff = answer.json()
        projects += diff["projects"]
        if page >= diff["pages"]:
            break
        page += 1
    assert state(db) == before  # the preview changed nothing
    assert diff["counts"] == {"projects_changed": PROJECTS + 1, "projects_inserted": 1,
                              "memberships_added": 4, "memberships_ended": PROJECTS + 1}
    assert len(projects) == PROJECTS + 1
    first = next(p for p in projects if p["project_key"] == "SA-00000")
    assert first["fields"]["relationship_manager"] == ["First Last", None]
    assert first["fields"]["partner_org"] == ["Fulton Hogan Pty Ltd", "Downer Group"]
    assert first["memberships_ended"] == ["delivery_partner:Fulton Hogan Pty Ltd",
                                          "relationship_manager:flast"]

    expected = {key: set(values) for key, values in before.items()}
    for project in projects:
        values = expected.setdefault(project["project_key"], set())
        for name, (old, new) in project["fields"].items():
            if name in ("delivery_partner", "relationship_manager", "rm_username",
                        "deployment_specialist", "ds_username", "partner_org",
                        "developer_class"):
                values.discard(f"{name}={old}")
                values.add(f"{name}={new}")
        values -= {f"member:{m}" for m in project["memberships_ended"]}
        values |= {f"member:{m}" for m in project["memberships_added"]}

    published = client.post(f"/imports/{held}/publish", headers=admin())
    assert published.status_code == 200, published.text
    assert published.json()["batch_state"] == "published"
    assert state(db) == expected

    detail = client.get(f"/imports/{held}", headers=admin()).json()
    assert detail["batch_state"] == "published"
    decisions = [(d["decision"], d["actor"]) for d in detail["batch"]["decisions"]]
    assert decisions == [("held", "system"), ("published", "user-admin")]
    again = client.post(f"/imports/{held}/publish", headers=admin())
    assert again.status_code == 409 and again.json()["error"]["code"] == "batch_not_held"
    # a re-send of a published batch is a replay: 200, nothing changes
    resent = client.post("/import-projects", json=batch(changed, batch_id="day-2"),
                         headers=bearer(loaded))
    assert resent.status_code == 200 and resent.json()["replayed"] is True


def test_rejecting_makes_a_resend_422_batch_rejected(
        client: httpx.Client, loaded: str, db: psycopg.Connection[Any]) -> None:
    assert client.post("/import-projects", json=batch(shifted(), batch_id="day-2"),
                       headers=bearer(loaded)).status_code == 202
    held = import_id(client, "held")
    before = snapshot(db)
    blank = client.post(f"/imports/{held}/reject", json={"reason": " "}, headers=admin())
    assert blank.status_code == 422
    assert client.post(f"/imports/{held}/reject", json={"reason": "x"},
                       headers=bearer(user_token("operator"))).status_code == 403
    rejected = client.post(f"/imports/{held}/reject",
                           json={"reason": "RM column exported empty"}, headers=admin())
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["batch_state"] == "rejected"

    resent = client.post("/import-projects", json=batch(shifted(), batch_id="day-2"),
                         headers=bearer(loaded))
    assert resent.status_code == 422
    error = resent.json()["error"]
    assert error["code"] == "batch_rejected"
    assert "RM column exported empty" in error["message"]
    assert snapshot(db) == before
    detail = client.get(f"/imports/{held}", headers=admin()).json()
    last = detail["batch"]["decisions"][-1]
    assert (last["decision"], last["actor"], last["reason"]) == (
        "rejected", "user-admin", "RM column exported empty")
    assert client.get("/imports", params={"batch_state": "rejected"},
                      headers=admin()).json()["imports"][0]["status"] == 202


def test_a_normal_daily_batch_is_published_at_once(
        client: httpx.Client, loaded: str, db: psycopg.Connection[Any],
        hook: WebhookReceiver) -> None:
    daily = rows()
    for i in range(5):  # a few reassignments
        daily[i * 100]["relationship_manager"] = RMS[(i * 100 + 1) % 2]
    answer = client.post("/import-projects", json=batch(daily, batch_id="day-2"),
                         headers=bearer(loaded))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "held" not in body and body["audit"]["findings"] == []
    assert body["audit"]["figures"]["changed_projects"] == 5
    assert body["metrics"]["updated_projects"] == 5
    rm = db.execute("select rm_username from projects where stage_application = 'SA-00000'"
                    ).fetchone()
    assert rm == {"rm_username": "rm.second"}
    assert hook.received == []


def test_audits_follow_the_tenant_limits(client: httpx.Client, loaded: str,
                                         db: psycopg.Connection[Any]) -> None:
    db.execute("select fn_tenant_set_audit('TELCO', false)")
    off = client.post("/import-projects", json=batch(shifted(), batch_id="day-2"),
                      headers=bearer(loaded))
    assert off.status_code == 200 and off.json()["audit"]["findings"] == []
    db.execute("select fn_tenant_set_audit('TELCO', true, p_min_rows => 2000)")
    small = client.post("/import-projects", json=batch(rows(), batch_id="day-3"),
                        headers=bearer(loaded))
    assert small.status_code == 200  # 1,000 existing projects < min_rows 2,000
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("select fn_tenant_set_audit('TELCO', p_max_ended_share => 1.5)")


def test_publishing_never_undoes_a_newer_batch(
        client: httpx.Client, loaded: str, db: psycopg.Connection[Any]) -> None:
    assert client.post("/import-projects", json=batch(shifted(), batch_id="day-2"),
                       headers=bearer(loaded)).status_code == 202
    held = import_id(client, "held")
    # the next day's export covers 200 projects only (under min_rows? no: 200 existing)
    newer = rows(200)
    newer[0]["relationship_manager"] = "Second Manager"
    answer = client.post("/import-projects", json=batch(newer, batch_id="day-3"),
                         headers=bearer(loaded))
    assert answer.status_code == 200, answer.text
    published = client.post(f"/imports/{held}/publish", headers=admin()).json()
    assert published["batch_state"] == "superseded"
    assert published["superseded_rows"] == 200
    assert published["metrics"]["rows"] == PROJECTS - 200
    rm = {row["stage_application"]: row["rm_username"] for row in db.execute(
        "select stage_application, rm_username from projects "
        "where stage_application in ('SA-00000', 'SA-00001', 'SA-00999')").fetchall()}
    assert rm == {"SA-00000": "rm.second", "SA-00001": "rm.second", "SA-00999": None}


def test_a_dry_run_writes_nothing_but_the_request_record(
        client: httpx.Client, loaded: str, db: psycopg.Connection[Any]) -> None:
    tables = db.execute(
        "select format('%I.%I', n.nspname, c.relname) as name from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') "
        "and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') "
        "order by 1").fetchall()
    assert len(tables) > 20

    def counts() -> dict[str, int]:
        return {t["name"]: db.execute(f"select count(*) as n from {t['name']}").fetchone()["n"]
                for t in tables}

    before = counts()
    changed = shifted()
    changed.append(project_row("SA-NEW-1", deployment_specialist="ghost"))
    answer = client.post("/import-projects?dry_run=true", json=batch(changed, batch_id="d"),
                         headers=bearer(loaded))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["dry_run"] is True and body["held"] is True
    assert body["metrics"]["inserted_projects"] == 1
    assert body["metrics"]["anomalies_count"] == 1
    assert {f["check"] for f in body["audit"]["findings"]} == {"max_ended_share",
                                                               "max_changed_share"}
    csv_body = "stage_application,delivery_partner,relationship_manager\nSA-00001,Downer,\n"
    csv = client.post("/import-projects", content=csv_body,
                      params={"dry_run": "true", "tenant_id": "TELCO", "batch_id": "c"},
                      headers={**bearer(loaded), "Content-Type": "text/csv"})
    assert csv.status_code == 200, csv.text
    assert csv.json()["dry_run"] is True and csv.json()["metrics"]["updated_projects"] == 1
    after = counts()
    assert after.pop("public.import_requests") == before.pop("public.import_requests") + 2
    assert after == before
    bad = client.post("/import-projects?dry_run=maybe", json=batch(changed),
                      headers=bearer(loaded))
    assert bad.status_code == 400 and "dry_run" in bad.json()["error"]["message"]


def test_too_many_rows_with_anomalies_are_held(client: httpx.Client, loaded: str,
                                               db: psycopg.Connection[Any]) -> None:
    db.execute("select fn_tenant_set_audit('TELCO', p_max_ended_share => 1, "
               "p_max_changed_share => 1)")
    daily = rows()
    for i in range(600):  # a directory export that lost people: 60 % of rows miss their DS
        daily[i]["deployment_specialist"] = f"gone.{i}"
    answer = client.post("/import-projects", json=batch(daily, batch_id="day-2"),
                         headers=bearer(loaded))
    assert answer.status_code == 202, answer.text
    assert answer.json()["audit"]["findings"] == [
        {"check": "max_anomaly_share", "observed": 0.6, "limit": 0.5}]
    assert answer.json()["metrics"]["anomalies_count"] == 600
    assert db.execute("select count(*) as n from import_anomalies").fetchone()["n"] == 0
