"""The in-process scheduler for the daily retention job (SPEC §5.7).

`imports-anomalies-retention` runs `fn_cleanup_import_data` daily at 03:10 UTC in every
replica's scheduler; a transaction-scoped advisory lock taken by every chunk lets one of them
work and the others skip (and needs no session, so a transaction-mode pooler is fine), and all
of them stand down when the database's pg_cron already runs a job of that name.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from projects_import.alerting.jobs import install_alert_jobs
from projects_import.db.connection import Database
from projects_import.operations.retention import (
    DEFAULT_ANOMALIES_DAYS,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_IMPORTS_DAYS,
    Retention,
    RetentionRun,
)
from projects_import.settings import Settings
from projects_import.vocabulary import RETENTION_JOB

log = structlog.get_logger("projects_import.scheduler")


def retention_trigger() -> CronTrigger:
    """Daily at 03:10 UTC, the runbook's schedule."""
    return CronTrigger(hour=3, minute=10, timezone=dt.UTC)


def run_retention_job(
    database_url: str,
    *,
    imports_days: int = DEFAULT_IMPORTS_DAYS,
    anomalies_days: int = DEFAULT_ANOMALIES_DAYS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    stop: threading.Event | None = None,
) -> RetentionRun:
    """One run of the job (what the scheduler calls; callable directly). Logs counts only."""
    started = time.perf_counter()

    async def once() -> RetentionRun:
        async with Database(database_url, max_size=1) as db:
            return await Retention(db).run_job(
                imports_days, anomalies_days, chunk_size=chunk_size,
                should_stop=stop.is_set if stop is not None else None)

    try:
        run = asyncio.run(once())
    except Exception as exc:
        log.error("retention_failed", job=RETENTION_JOB, error=type(exc).__name__,
                  sqlstate=getattr(exc, "sqlstate", None))
        raise
    fields = run.cleanup.as_dict() if run.cleanup else {}
    log.info("retention_run", job=RETENTION_JOB, outcome=run.outcome,
             duration_ms=round((time.perf_counter() - started) * 1000, 1), **fields)
    return run


class RetentionScheduler:
    """A started APScheduler 3 BackgroundScheduler holding the retention job."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._stop = threading.Event()
        self.scheduler = BackgroundScheduler(timezone=dt.UTC)
        self.job = self.scheduler.add_job(
            self._run, retention_trigger(), id=RETENTION_JOB, name=RETENTION_JOB,
            max_instances=1, coalesce=True, misfire_grace_time=3600, replace_existing=True)

    def _run(self) -> None:
        # already logged as `retention_failed`; the next day's run tries again
        with contextlib.suppress(Exception):
            run_retention_job(self._database_url, stop=self._stop)

    def start(self) -> RetentionScheduler:
        self.scheduler.start()
        return self

    def next_run_time(self) -> dt.datetime | None:
        job = self.scheduler.get_job(RETENTION_JOB)
        return job.next_run_time if job is not None else None

    def shutdown(self) -> None:
        """Stop scheduling; a run in progress finishes its current chunk, then stops."""
        self._stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)


def start_scheduler(database_url: str, settings: Settings | None = None) -> RetentionScheduler:
    """Start the retention scheduler (and, given settings with an alert webhook, the alert
    jobs); the caller shuts it down with `.shutdown()`."""
    scheduler = RetentionScheduler(database_url)
    if settings is not None:
        install_alert_jobs(scheduler.scheduler, settings, database_url)
    return scheduler.start()
