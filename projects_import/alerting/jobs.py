"""The alert jobs of the service's own scheduler (`serve`): the rules evaluated at the end of
every alert window, and due deliveries retried every minute. No pg_cron and no token: the
jobs use the service's database connection, and the alert lock lets one replica evaluate.

Windows are aligned to UTC multiples of their length from 2000-01-01 — the slots
`fn_alert_evaluate` records — so "consecutive windows" means the same thing in every replica.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from projects_import.alerting.engine import AlertConfig, AlertEngine
from projects_import.alerting.webhook import WebhookConfigError
from projects_import.db.connection import Database
from projects_import.settings import Settings

log = structlog.get_logger("projects_import.alerts")

ALERT_JOB = "anomalies-alerts"
RETRY_JOB = "alert-deliveries-retry"
SLOT_ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
RETRY_EVERY_SECONDS = 60


def alert_trigger(window_hours: int) -> IntervalTrigger:
    """At the end of every alert window (UTC-aligned slots)."""
    return IntervalTrigger(hours=window_hours, start_date=SLOT_ORIGIN, timezone=dt.UTC)


def run_alert_job(database_url: str, config: AlertConfig) -> None:
    """One scheduled evaluation (skipped when another replica is evaluating)."""
    async def once() -> None:
        async with Database(database_url, max_size=1) as db:
            await AlertEngine(db, config).run(wait=False)

    _logged(ALERT_JOB, once)


def run_retry_job(database_url: str, config: AlertConfig) -> None:
    """Post the deliveries whose retry is due."""
    async def once() -> None:
        async with Database(database_url, max_size=1) as db:
            await AlertEngine(db, config).deliver()

    _logged(RETRY_JOB, once)


def _logged(job: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        asyncio.run(work())
    except Exception as exc:  # the next run tries again
        log.error("alert_job_failed", job=job, error=type(exc).__name__,
                  sqlstate=getattr(exc, "sqlstate", None))


def install_alert_jobs(scheduler: BaseScheduler, settings: Settings,
                       database_url: str) -> list[Job]:
    """Add both jobs when ANOMALIES_ALERT_WEBHOOK is set; nothing otherwise."""
    if not settings.alert_webhook:
        return []
    try:
        config = AlertConfig.from_settings(settings)
    except WebhookConfigError as exc:
        log.error("alerts_disabled", reason=str(exc))
        return []
    return [
        scheduler.add_job(run_alert_job, alert_trigger(config.window_hours),
                          args=(database_url, config), id=ALERT_JOB, name=ALERT_JOB,
                          max_instances=1, coalesce=True, misfire_grace_time=600,
                          replace_existing=True),
        scheduler.add_job(run_retry_job, IntervalTrigger(seconds=RETRY_EVERY_SECONDS),
                          args=(database_url, config), id=RETRY_JOB, name=RETRY_JOB,
                          max_instances=1, coalesce=True, replace_existing=True),
    ]
