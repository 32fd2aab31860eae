"""The runbook's alert rules on real PostgreSQL, delivered to a webhook receiver on
127.0.0.1: thresholds, escalation, suppression, the signature, and retries with backoff."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from projects_import.alerting.engine import AlertConfig, AlertEngine, Delivery, Evaluation
from projects_import.alerting.webhook import WebhookConfigError, signature, validate_webhook
from projects_import.db.connection import Database
from tests.support import WebhookReceiver, batch, project_row, submit

pytestmark = pytest.mark.engine  # alert evaluation in SQL, its advisory lock

SECRET = "alert-signing-secret-for-tests"
GHOSTS = [f"ghost.specialist.{i}" for i in range(20)]
PARTNERS = [f"Nowhere Builders {i}" for i in range(20)]


@pytest.fixture
def hooks() -> Iterator[tuple[WebhookReceiver, WebhookReceiver]]:
    with WebhookReceiver("/hooks/alerts") as alerts, \
            WebhookReceiver("/hooks/escalations") as escalations:
        yield alerts, escalations


def config(hooks: tuple[WebhookReceiver, WebhookReceiver], **overrides: Any) -> AlertConfig:
    alerts, escalations = hooks
    values: dict[str, Any] = {
        "window_hours": 1, "webhooks": {"alert": alerts.url, "escalation": escalations.url},
        "secret": SECRET, "public_url": "https://imports.example.org", "backoff_seconds": 30}
    values.update(overrides)
    return AlertConfig(**values)


def run(database_url: str, cfg: AlertConfig, *, wait: bool = True
        ) -> tuple[Evaluation, list[Delivery]]:
    async def go() -> tuple[Evaluation, list[Delivery]]:
        async with Database(database_url, max_size=2) as db:
            return await AlertEngine(db, cfg).run(wait=wait)
    return asyncio.run(go())


def retry_due(database_url: str, cfg: AlertConfig) -> list[Delivery]:
    async def go() -> list[Delivery]:
        async with Database(database_url, max_size=2) as db:
            return await AlertEngine(db, cfg).deliver()
    return asyncio.run(go())


def import_misses(database_url: str, *, errors: int = 0, warnings: int = 0, start: int = 0,
                  batch_id: str | None = None) -> str:
    """One batch with `errors` unknown-DS rows and `warnings` unknown-partner rows; its id."""
    rows = [project_row(f"STG-{start + i:012d}", deployment_specialist=GHOSTS[i])
            for i in range(errors)]
    rows += [project_row(f"STG-{start + 100 + i:012d}", delivery_partner=PARTNERS[i])
             for i in range(warnings)]
    rows.append(project_row(f"STG-{start + 999:012d}"))
    answer = submit(database_url, batch(rows, batch_id=batch_id or f"b-{uuid.uuid4()}"))
    return str(answer["batch_id"])


def deliveries(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return db.execute("select * from alert_deliveries order by id").fetchall()


def test_two_errors_alert_once_signed_with_counts_and_ids_only(
        database_url, db, tenant, directories, hooks) -> None:
    alerts, escalations = hooks
    batch_id = import_misses(database_url, errors=2)
    evaluation, sent = run(database_url, config(hooks))

    assert [d.status for d in sent] == ["delivered"]
    assert len(alerts.received) == 1 and escalations.received == []
    got = alerts.received[0]
    assert got.path == "/hooks/alerts"
    assert got.signed_with(SECRET)
    assert got.headers["x-projects-import-signature"] == signature(got.raw, SECRET)
    assert not got.signed_with("another secret")
    body = got.body
    problems = db.execute("select id from import_problems order by id").fetchall()
    assert body["kind"] == "alert" and body["tenant_id"] == "TELCO"
    assert body["reasons"] == ["errors"]
    assert body["total"] == 2 and body["errors"] == 2
    assert body["by_type"] == {"UNKNOWN_DS": 2} and body["by_severity"] == {"error": 2}
    assert body["by_tenant"] == {"TELCO": 2}
    assert body["problem_ids"] == [p["id"] for p in problems]
    assert body["batch_ids"] == [batch_id]
    assert body["open_problems"] == 2 and body["new_problems"] == 2
    assert body["dashboard_url"] == "https://imports.example.org/dashboard/problems?tenant=TELCO"
    assert "TELCO" in body["text"] and "2 new occurrence(s)" in body["text"]
    assert body["text"].endswith("https://imports.example.org/dashboard/problems?tenant=TELCO")
    # never names, project keys, unknown values or excerpts
    raw = got.raw.decode()
    for forbidden in (*GHOSTS[:2], "STG-", "First Last", "Fulton", "payload_excerpt"):
        assert forbidden not in raw, forbidden
    row = deliveries(db)[0]
    assert (row["status"], row["attempts"], row["response_code"]) == ("delivered", 1, 200)
    assert row["next_retry_at"] is None and row["delivered_at"] is not None
    assert evaluation.summary()["tenants"][0]["alerting"] is True


def test_below_the_thresholds_nothing_is_sent(database_url, db, tenant, directories,
                                              hooks) -> None:
    alerts, _ = hooks
    import_misses(database_url, errors=1, warnings=3)           # 4 occurrences, 1 error
    evaluation, sent = run(database_url, config(hooks))
    assert sent == [] and alerts.received == []
    (figures,) = evaluation.tenants
    assert (figures["occurrences"], figures["errors"], figures["alerting"]) == (4, 1, False)
    import_misses(database_url, warnings=1, start=500)          # the 5th occurrence
    evaluation, sent = run(database_url, config(hooks))
    assert [d.status for d in sent] == ["delivered"]
    assert alerts.received[0].body["reasons"] == ["occurrences"]


def test_per_tenant_thresholds_and_the_single_contract_threshold(
        database_url, db, tenant, directories, hooks) -> None:
    alerts, _ = hooks
    import_misses(database_url, errors=2)
    db.execute("update tenants set alert_min_errors = 3 where tenant_id = 'TELCO'")
    assert run(database_url, config(hooks))[1] == []
    # ANOMALIES_ALERT_MIN_COUNT replaces both thresholds: 2 occurrences against 3
    db.execute("update tenants set alert_min_errors = 1 where tenant_id = 'TELCO'")
    evaluation, sent = run(database_url, config(hooks, min_count=3))
    assert sent == [] and evaluation.summary()["threshold"] == 3
    evaluation, sent = run(database_url, config(hooks, min_count=2))
    assert len(sent) == 1 and alerts.received[0].body["threshold"] == 2


def test_the_same_problems_are_suppressed_for_the_interval(database_url, db, tenant,
                                                           directories, hooks) -> None:
    alerts, _ = hooks
    import_misses(database_url, errors=2)
    assert len(run(database_url, config(hooks))[1]) == 1
    evaluation, sent = run(database_url, config(hooks))
    assert sent == [] and evaluation.suppressed == 1 and len(alerts.received) == 1
    # a new problem changes the set: it alerts again
    import_misses(database_url, errors=3, start=200)
    assert len(run(database_url, config(hooks))[1]) == 1
    assert len(alerts.received) == 2
    assert len(alerts.received[1].body["problem_ids"]) == 5     # the window holds all five
    # the interval passes: the same set alerts again
    db.execute("update alert_deliveries set delivered_at = delivered_at - interval '5 hours'")
    assert len(run(database_url, config(hooks))[1]) == 1
    # with suppression 0, every evaluation alerts
    assert len(run(database_url, config(hooks, suppress_hours=0))[1]) == 1
    # another webhook is another destination: it gets the alert
    with WebhookReceiver("/other") as other:
        _, sent = run(database_url, config(hooks, webhooks={"alert": other.url,
                                                             "escalation": None}))
        assert len(sent) == 1 and len(other.received) == 1


def test_a_delivery_waiting_for_its_retry_is_posted_again_not_duplicated(
        database_url, db, tenant, directories, hooks) -> None:
    alerts, _ = hooks
    alerts.script = [500]
    import_misses(database_url, errors=2)
    _, (first,) = run(database_url, config(hooks))
    assert first.status == "retrying"
    _, (again,) = run(database_url, config(hooks))      # evaluating now posts it again
    assert (again.id, again.status, again.attempts) == (first.id, "delivered", 2)
    assert len(deliveries(db)) == 1


def test_acknowledged_problems_do_not_alert_overdue_ones_do(database_url, db, tenant,
                                                            directories, hooks) -> None:
    alerts, _ = hooks
    import_misses(database_url, errors=2)
    db.execute("update import_problems set status = 'acknowledged', acknowledged_at = now(), "
               "acknowledged_by = 'user-1'")
    evaluation, sent = run(database_url, config(hooks))
    assert sent == [] and evaluation.tenants[0]["alerting"] is False
    db.execute("update import_problems set resolve_due_at = now() - interval '1 minute'")
    evaluation, sent = run(database_url, config(hooks))
    assert len(sent) == 1
    body = alerts.received[0].body
    assert body["reasons"] == ["overdue"] and body["overdue_problems"] == 2
    assert body["total"] == 0 and len(body["problem_ids"]) == 2


def test_three_consecutive_alerting_windows_escalate(database_url, db, tenant, directories,
                                                     hooks) -> None:
    _, escalations = hooks
    import_misses(database_url, errors=2)
    evaluation, _ = run(database_url, config(hooks))
    assert evaluation.tenants[0]["consecutive_windows"] == 1 and escalations.received == []
    # the two slots before this one alerted too (as the hourly job would have recorded)
    db.execute("""insert into alert_windows (tenant_id, window_slot, window_hours, occurrences,
                                             errors, overdue)
                  select 'TELCO', date_bin('1 hour', now(), timestamptz '2000-01-01 00:00+00')
                                  - k * interval '1 hour', 1, 2, 2, 0
                    from generate_series(1, 2) k""")
    evaluation, sent = run(database_url, config(hooks, suppress_hours=0))
    assert evaluation.tenants[0]["consecutive_windows"] == 3
    assert sorted(d.kind for d in sent) == ["alert", "escalation"]
    (got,) = escalations.received
    assert got.path == "/hooks/escalations" and got.signed_with(SECRET)
    assert got.body["kind"] == "escalation"
    assert got.body["reasons"] == ["consecutive_windows"]
    assert got.headers["x-projects-import-event"] == "escalation"
    assert got.body["text"].startswith("projects-import ESCALATION for tenant TELCO")
    # the escalation is suppressed like an alert
    _, sent = run(database_url, config(hooks))
    assert sent == [] and len(escalations.received) == 1


def test_more_than_ten_ds_rm_problems_in_24h_escalate(database_url, db, tenant, directories,
                                                      hooks) -> None:
    _, escalations = hooks
    import_misses(database_url, errors=10)
    evaluation, _ = run(database_url, config(hooks))
    assert evaluation.tenants[0]["ds_rm_problems_24h"] == 10 and escalations.received == []
    import_misses(database_url, errors=11, start=300)
    evaluation, _ = run(database_url, config(hooks))
    assert evaluation.tenants[0]["ds_rm_problems_24h"] == 21
    (got,) = escalations.received
    assert got.body["reasons"] == ["ds_rm_problems_24h"]
    assert got.body["ds_rm_problems_24h"] == 21
    assert got.body["problem_ids_total"] == 21


def test_escalation_needs_its_own_webhook(database_url, db, tenant, directories,
                                          hooks) -> None:
    alerts, _ = hooks
    import_misses(database_url, errors=11)
    _, sent = run(database_url, config(hooks, webhooks={"alert": alerts.url,
                                                         "escalation": None}))
    assert [d.kind for d in sent] == ["alert"]


def test_failed_deliveries_are_retried_with_backoff_then_given_up(
        database_url, db, tenant, directories, hooks) -> None:
    alerts, _ = hooks
    alerts.script = [500, 503, 502]
    import_misses(database_url, errors=2)
    cfg = config(hooks, max_attempts=3)
    _, (first,) = run(database_url, cfg)
    assert (first.status, first.attempts, first.response_code) == ("retrying", 1, 500)
    row = deliveries(db)[0]
    waited = db.execute("select extract(epoch from %s::timestamptz - now()) as s",
                        (row["next_retry_at"],)).fetchone()["s"]
    assert 20 < waited <= 30, "first retry after backoff_seconds"
    assert retry_due(database_url, cfg) == [], "not due yet"

    db.execute("update alert_deliveries set next_retry_at = now()")
    (second,) = retry_due(database_url, cfg)
    assert (second.status, second.attempts, second.response_code) == ("retrying", 2, 503)
    waited = db.execute("select extract(epoch from next_retry_at - now()) as s "
                        "from alert_deliveries").fetchone()["s"]
    assert 50 < waited <= 60, "the second retry waits twice as long"

    db.execute("update alert_deliveries set next_retry_at = now()")
    (third,) = retry_due(database_url, cfg)
    assert (third.status, third.attempts) == ("failed", 3)
    row = deliveries(db)[0]
    assert row["status"] == "failed" and row["next_retry_at"] is None
    assert row["last_error"] == "the webhook answered HTTP 502"
    assert retry_due(database_url, cfg) == []
    # every attempt posted the same signed body
    assert len(alerts.received) == 3
    assert len({r.raw for r in alerts.received}) == 1
    assert all(r.signed_with(SECRET) for r in alerts.received)
    # a delivery that finally failed does not suppress the next alert about the same problems
    _, (again,) = run(database_url, cfg)
    assert again.status == "delivered"


def test_a_retry_that_succeeds(database_url, db, tenant, directories, hooks) -> None:
    alerts, _ = hooks
    alerts.script = [503]
    import_misses(database_url, errors=2)
    cfg = config(hooks, backoff_seconds=0)
    _, (first,) = run(database_url, cfg)
    assert first.status == "retrying"
    (second,) = retry_due(database_url, cfg)
    assert (second.status, second.attempts, second.response_code) == ("delivered", 2, 200)


def test_unreachable_webhook_is_recorded_without_its_url(database_url, db, tenant,
                                                         directories, hooks) -> None:
    with WebhookReceiver() as closed:
        url = closed.url
    import_misses(database_url, errors=2)
    _, (first,) = run(database_url, config(hooks, webhooks={"alert": url, "escalation": None}))
    assert first.status == "retrying" and first.response_code is None
    row = deliveries(db)[0]
    assert row["last_error"].startswith("the webhook could not be reached")
    assert "127.0.0.1" not in json.dumps(row, default=str)


def test_one_replica_evaluates_at_a_time(database_url, db, tenant, directories,
                                         hooks) -> None:
    import_misses(database_url, errors=2)
    with psycopg.connect(database_url) as holder:
        holder.execute("select pg_advisory_xact_lock(7302, 2)")
        evaluation, sent = run(database_url, config(hooks), wait=False)
        assert evaluation.evaluated is False and sent == []
    evaluation, sent = run(database_url, config(hooks), wait=False)
    assert evaluation.evaluated is True and len(sent) == 1


def test_retention_trims_the_delivery_log(database_url, db, tenant, directories,
                                          hooks) -> None:
    import_misses(database_url, errors=2)
    run(database_url, config(hooks))
    run(database_url, config(hooks, suppress_hours=0))
    db.execute("update alert_deliveries set created_at = now() - interval '61 days' "
               "where id = (select min(id) from alert_deliveries)")
    counts = db.execute("select fn_cleanup_import_data(60, 90) as c").fetchone()["c"]
    assert counts["alert_deliveries_deleted"] == 1
    assert len(deliveries(db)) == 1
    stats = db.execute("select sum(alert_deliveries_count) as n "
                       "from import_retention_stats").fetchone()
    assert stats["n"] == 1


@pytest.mark.parametrize(("url", "ok"), [
    ("https://hooks.example.com/x", True), ("http://127.0.0.1:9/h", True),
    ("http://[::1]:8080/h", True), ("http://localhost/h", True),
    ("http://example.com/h", False), ("http://10.0.0.7/h", False), ("ftp://127.0.0.1/h", False),
])
def test_escalation_webhook_validation_names_its_variable(url, ok) -> None:
    if ok:
        assert validate_webhook(url, "ANOMALIES_ESCALATION_WEBHOOK") == url
    else:
        with pytest.raises(WebhookConfigError, match="ANOMALIES_ESCALATION_WEBHOOK"):
            validate_webhook(url, "ANOMALIES_ESCALATION_WEBHOOK")


def test_the_scheduler_jobs_evaluate_and_retry(database_url, db, tenant, directories, hooks,
                                               settings) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from projects_import.alerting.jobs import (
        ALERT_JOB,
        RETRY_JOB,
        install_alert_jobs,
        run_alert_job,
        run_retry_job,
    )

    alerts, escalations = hooks
    assert install_alert_jobs(BackgroundScheduler(), settings, database_url) == [], (
        "no webhook, no jobs")
    configured = settings.model_copy(update={
        "alert_webhook": alerts.url, "escalation_webhook": escalations.url,
        "alert_secret": SECRET, "alert_window_hours": 2})
    scheduler = BackgroundScheduler()
    jobs = install_alert_jobs(scheduler, configured, database_url)
    assert [job.id for job in jobs] == [ALERT_JOB, RETRY_JOB]
    scheduler.start(paused=True)
    try:
        fire = scheduler.get_job(ALERT_JOB).next_run_time
        assert fire.minute == 0 and fire.second == 0 and fire.hour % 2 == 0, (
            "at the end of each UTC-aligned 2-hour window")
    finally:
        scheduler.shutdown(wait=False)
    bad = settings.model_copy(update={"alert_webhook": "http://example.com/hook"})
    assert install_alert_jobs(BackgroundScheduler(), bad, database_url) == []

    alerts.script = [503]
    import_misses(database_url, errors=2)
    config = AlertConfig.from_settings(configured, backoff_seconds=0)
    run_alert_job(database_url, config)
    assert deliveries(db)[0]["status"] == "retrying"
    run_retry_job(database_url, config)
    assert deliveries(db)[0]["status"] == "delivered"
    assert len(alerts.received) == 2 and alerts.received[1].signed_with(SECRET)
